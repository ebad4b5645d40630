// The three kinds of systems that send events — the ACD, the IVR and the CRM —, each ingest key being for one. Plain
// data with no imports, so the event contract, the configuration and the console's forms all take it from here.
export const SOURCES = ['acd', 'ivr', 'crm'] as const;
export type Source = (typeof SOURCES)[number];
