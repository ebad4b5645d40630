// Hash routing without a router library:  #/ (the board)  #/board/<name>  #/console[/<tab>]
export type Route = { page: 'board'; board?: string } | { page: 'console'; tab?: string };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'console') return { page: 'console', tab: parts[1] };
  if (parts[0] === 'board' && parts[1]) return { page: 'board', board: parts[1] };
  return { page: 'board' };
}
