// The whole "project" the CDP servers of the devtools profile see: node-network-devtools'
// fork lists every file of its cwd (this folder) as a script; Node's inspector runs it.
setInterval(() => {}, 1000);
