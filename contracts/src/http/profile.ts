import { Type } from 'typebox';
import { PhotoUpload, PhotoUploadBody, Profile, PutProfileBody } from '../rpc/profile.ts';
import { defineHttpRoute } from './define-http-route.ts';

/** A rider's own driving-licence profile: fields, photos, submission, status and rejection reason. */
export const profileRoutes = {
  get: defineHttpRoute({
    method: 'GET',
    url: '/v1/profile',
    summary: 'My licence profile, its status and, after a rejection, the reason',
    tags: ['profile'],
    access: 'user',
    successStatus: 200,
    response: Profile,
  }),
  put: defineHttpRoute({
    method: 'PUT',
    url: '/v1/profile',
    summary: 'Replace my licence fields (status and review fields cannot be set: 400)',
    tags: ['profile'],
    access: 'user',
    body: PutProfileBody,
    successStatus: 200,
    response: Profile,
  }),
  delete: defineHttpRoute({
    method: 'DELETE',
    url: '/v1/profile',
    summary: 'Erase my licence profile and its photos',
    tags: ['profile'],
    access: 'user',
    successStatus: 200,
    response: Type.Object({ deletedPhotos: Type.Integer({ minimum: 0 }) }),
  }),
  createPhotoUpload: defineHttpRoute({
    method: 'POST',
    url: '/v1/profile/photos',
    summary: 'A signed URL to upload a licence photo (front, back) or a selfie to',
    tags: ['profile'],
    access: 'user',
    body: PhotoUploadBody,
    successStatus: 201,
    response: PhotoUpload,
  }),
  submit: defineHttpRoute({
    method: 'POST',
    url: '/v1/profile/submit',
    summary: 'Send my profile for verification (again after a rejection)',
    tags: ['profile'],
    access: 'user',
    successStatus: 200,
    response: Profile,
  }),
} as const;
