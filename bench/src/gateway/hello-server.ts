/** Child process for the gateway benchmark's baseline: the smallest fastify app there is. */
import Fastify from 'fastify';
import { announceReady, closeWithParent } from '../child-protocol.ts';

const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));
const url = await app.listen({ host: '127.0.0.1', port: 0 });
closeWithParent(() => app.close());
announceReady({ url });
