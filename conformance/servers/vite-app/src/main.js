// Entry module. It accepts updates of dep.js only, so an edit of dep.js is an
// `update` with path /src/main.js, while an edit of this file or of plain.js
// (no boundary) is a `full-reload`.
import { dep } from './dep.js';
import { plain } from './plain.js';
import { self } from './self.js';
import './style.css';

function render(depValue) {
  document.getElementById('out').textContent = [depValue, plain, self].join(' | ');
}

render(dep);

if (import.meta.hot) {
  import.meta.hot.accept('./dep.js', (mod) => {
    if (mod) render(mod.dep);
  });
}
