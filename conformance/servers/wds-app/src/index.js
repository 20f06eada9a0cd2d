// Entry. dep.js is accepted here (HMR applies in place); plain.js is not, so
// the browser runtime would reload for it. The server sends the same
// invalid/hash/ok sequence for both: it does not know about accept boundaries.
import { dep } from './dep.js';
import { plain } from './plain.js';

function render(depValue) {
  document.getElementById('out').textContent = `${depValue} | ${plain}`;
}

render(dep);

if (module.hot) {
  module.hot.accept('./dep.js', () => {
    render(dep);
  });
}
