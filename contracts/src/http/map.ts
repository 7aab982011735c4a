import { Type } from 'typebox';
import { defineHttpRoute } from './define-http-route.ts';

const Position = Type.Tuple([Type.Number({ description: 'longitude' }), Type.Number({ description: 'latitude' })]);

/** One street, or an unbroken run of it, as a GeoJSON LineString (RFC 7946: positions are [lng, lat]). */
export const StreetFeature = Type.Object({
  type: Type.Literal('Feature'),
  geometry: Type.Object({ type: Type.Literal('LineString'), coordinates: Type.Array(Position, { minItems: 2 }) }),
  properties: Type.Object({
    streetId: Type.Integer(),
    name: Type.String(),
    class: Type.Union([Type.Literal('primary'), Type.Literal('secondary'), Type.Literal('residential')]),
  }),
});

export const StreetMap = Type.Object({
  type: Type.Literal('FeatureCollection'),
  bbox: Type.Tuple([Type.Number(), Type.Number(), Type.Number(), Type.Number()], { description: '[west, south, east, north]' }),
  features: Type.Array(StreetFeature),
});

export const mapRoutes = {
  streets: defineHttpRoute({
    method: 'GET',
    url: '/v1/map/streets',
    summary: 'The street network the fleet drives on, as GeoJSON (a web map draws it without a tile server); cached for a day, with an ETag',
    tags: ['map'],
    access: 'public',
    successStatus: 200,
    response: StreetMap,
  }),
} as const;
