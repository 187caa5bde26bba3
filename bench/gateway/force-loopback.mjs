// SPDX-License-Identifier: Apache-2.0
// Preload (`node --import ./force-loopback.mjs …`) that makes every TCP listen() without an
// explicit host bind 127.0.0.1 instead of all interfaces: the peer gateway's server listens
// on every interface otherwise, and the benchmark must stay on loopback.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const first = args[0];
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    if (typeof args[1] !== 'string' || !args[1]) {
      const callback = args.find((a) => typeof a === 'function');
      const backlog = typeof args[1] === 'number' ? args[1] : typeof args[2] === 'number' ? args[2] : undefined;
      const rest = [Number(first), '127.0.0.1'];
      if (backlog !== undefined) rest.push(backlog);
      if (callback) rest.push(callback);
      return listen.apply(this, rest);
    }
  } else if (first && typeof first === 'object' && !('path' in first) && !first.host) {
    args[0] = { ...first, host: '127.0.0.1' };
  }
  return listen.apply(this, args);
};

// Under --cpu-prof the profile is written only on a normal exit, and the peer has no SIGTERM handler.
if (process.execArgv.includes('--cpu-prof')) process.once('SIGTERM', () => process.exit(0));
