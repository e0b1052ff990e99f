// The app renders in the browser only: the express server mounts the handler just to serve it,
// and everything a page shows comes from the REST API and sockets at run time.
export const ssr = false;
