// Which threshold applies to which figure: the one rule shared by the alert engine and the wallboard's tile colours.
// Kept free of imports so the TV bundle can use it as is.

/** How specific a threshold scope is for a figure scope, or -1 when it does not apply: the exact scope (3) over
 *  `<kind>:*` (2) over `center`, which also stands for every queue and team (1). */
export function specificity(thresholdScope: string, figureScope: string): number {
  if (thresholdScope === figureScope) return 3;
  if (figureScope === 'center') return -1;
  const kind = figureScope.slice(0, figureScope.indexOf(':'));
  if (thresholdScope === `${kind}:*`) return 2;
  if (thresholdScope === 'center' && (kind === 'queue' || kind === 'team')) return 1;
  return -1;
}
