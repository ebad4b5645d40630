// Loopback names: where a demo's published password is safe, and the only Host names such a demo answers to (a page
// elsewhere that points its own name at 127.0.0.1, "DNS rebinding", would otherwise reach it as a same-origin site).

/** Whether a host (a HOST setting, or a Host header's name without its port) names this machine's loopback. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The name of a Host header: without its port (`[::1]:8080` → `[::1]`). */
export function hostName(header: string): string {
  return header.startsWith('[') ? header.slice(0, header.indexOf(']') + 1) : header.split(':')[0]!;
}
