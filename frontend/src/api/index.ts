// The API client: transport and problems, the session, the endpoints and the
// types of what they send and answer.

export * from './changes';
export * from './client';
export * from './endpoints';
export * from './names';
export * from './session';
export * from './timeline';
export * from './types';
