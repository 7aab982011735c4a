export * from './geo.ts';
export * from './seeded-random.ts';
export * from './street-network.ts';
export * from './generate-city.ts';
