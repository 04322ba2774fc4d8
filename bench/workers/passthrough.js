// The baseline: a bare pass-through Worker, a few lines that forward every request to one origin.
export default {
  fetch(request, env) {
    const url = new URL(request.url);
    return fetch(env.ORIGIN + url.pathname + url.search, request);
  },
};
