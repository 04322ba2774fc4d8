/**
 * Entry point of the worker: the Hono app for requests.
 */
import { createApp } from './app';

const app = createApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
