/**
 * The status page served at `GET /`: one self-contained HTML document (no
 * external assets, no build step) that reads `/v1/freerouter/status`.
 *
 * @module
 */

/** The page. */
export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>freerouter</title></head>
<body><h1>freerouter</h1><p>Status: <a href="/v1/freerouter/status">/v1/freerouter/status</a></p></body></html>
`;
