// The live protocol's limits: plain data with no imports, so the server's schema and the TV's client take them from
// one place (the TV bundle does not load TypeBox).

/** The most scopes one subscribe (or unsubscribe) message may name. */
export const MAX_SUBSCRIPTIONS = 200;
