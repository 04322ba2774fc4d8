/**
 * An RFC 9110 §5.6.2 token: what header names and (RFC 6265 §4.1.1) cookie names are made of. The
 * configuration's session keys and learned names both name headers and cookies, so both use this one.
 */
export const HTTP_TOKEN = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+";
