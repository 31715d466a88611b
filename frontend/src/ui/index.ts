// The pieces shared by the screens of every area.

export * from './badges';
export * from './changes';
export * from './copy';
export * from './directory';
export * from './form';
export * from './hash';
export * from './leave';
export * from './load';
export * from './poll';
export * from './loadmore';
export * from './router';
export * from './section';
export * from './stale';
export * from './table';
export * from './text';
export * from './time';
export * from './save';
