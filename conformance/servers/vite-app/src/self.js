// Self-accepting: an edit here is an `update` whose path and acceptedPath are
// both /src/self.js.
export const self = 'self v1';

if (import.meta.hot) {
  import.meta.hot.accept();
}
