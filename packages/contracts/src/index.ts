/**
 * What the parts of Attestor agree on, each in one place: the protocol's constants and wire types
 * (protocol.ts, the one module the SDK bundles), request schemas (validation.ts,
 * admin-validation.ts), the admin API's wire types (admin-api.ts), the route table (routes.ts),
 * the DynamoDB table layouts (tables.ts), the configuration of each function (config.ts) and the
 * local cloud's state on disk (local-state.ts).
 */
export * from './protocol';
export * from './admin-api';
export * from './routes';
export * from './tables';
