/** Sets up the model catalog the way an admin does, through the API. */
import type { SignedIn } from './test-platform';

export interface ModelSetup {
  providerId: number;
  modelIds: Record<string, number>;
}

/** One OpenAI-compatible provider (the stand-in's address) and these models, each as its own upstream name. */
export async function offerModels(admin: SignedIn, names: string[], options: { baseUrl?: string; models?: Record<string, Record<string, unknown>> } = {}): Promise<ModelSetup> {
  const provider = await admin.agent
    .post('/api/admin/model-providers')
    .set('X-CSRF-Token', admin.csrfToken)
    .send({ name: 'Stand-in', kind: 'openai_compatible', baseUrl: options.baseUrl ?? 'http://127.0.0.1:9/v1' })
    .expect(201);
  const providerId = (provider.body as { provider: { id: number } }).provider.id;
  const modelIds: Record<string, number> = {};
  for (const name of names) {
    const response = await admin.agent
      .post('/api/admin/models')
      .set('X-CSRF-Token', admin.csrfToken)
      .send({ name, providerId, upstreamModel: name, ...options.models?.[name] })
      .expect(201);
    modelIds[name] = (response.body as { model: { id: number } }).model.id;
  }
  return { providerId, modelIds };
}
