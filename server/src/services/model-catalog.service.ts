/**
 * The models users are offered, and the providers behind them: an admin's changes checked, audited
 * (never with a key), written into LiteLLM's configuration and passed on to running runtimes. Every
 * model call asks here which models its caller may use, so the catalog is kept in memory and read
 * again from SQLite after each change.
 */
import { ConflictError, NotFoundError, ValidationError } from '../errors/app-error';
import type { Logger } from '../logging/logger';
import type { ModelDirectory, AllowedModel } from '../models/model-gateway.service';
import { PROVIDER_KIND_INFO, type ProviderKindInfo } from '../models/provider-kinds';
import type { ModelCatalogRepository, ModelWithGrants, ProviderRecord } from '../repositories/model-catalog.repository';
import type { UserRepository } from '../repositories/user.repository';
import type { OfferedModels } from '../runtimes/openclaw-config';
import type { AuditService } from './audit.service';
import type { LiteLlmSidecar } from './litellm-sidecar';
import type { z } from 'zod';
import type { createModelSchema, createProviderSchema, updateModelSchema, updateProviderSchema } from './model.schemas';
import type { RequestContext } from './request-context';
import type { RuntimeModelPush } from './runtime-model-push';

export interface ProviderView extends Omit<ProviderRecord, 'keyHint'> {
  key: { source: 'stored' | 'env' | 'none'; hint: string | null; envVar: string | null; envPresent: boolean };
  modelCount: number;
}

interface CatalogUser {
  id: number;
  role: 'admin' | 'user';
}

const sameName = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
const keyHint = (key: string) => `…${key.slice(-4)}`;

export class ModelCatalogService implements ModelDirectory {
  private models: ModelWithGrants[] = [];
  private providers: ProviderRecord[] = [];

  constructor(
    private readonly catalog: ModelCatalogRepository,
    private readonly users: UserRepository,
    private readonly sidecar: LiteLlmSidecar,
    private readonly push: RuntimeModelPush,
    private readonly audit: AuditService,
    private readonly logger: Logger,
    /** Provider key variables set in the server's environment (.env): names only. */
    private readonly keysInEnv: ReadonlySet<string>,
  ) {
    this.reload();
    this.sidecar.keepKeysOf(new Set(this.providers.map((provider) => provider.id)));
  }

  /** The kinds an admin may pick, and whether the server's .env already holds a key for each. */
  kinds(): (Omit<ProviderKindInfo, 'litellmPrefix'> & { envPresent: boolean })[] {
    return Object.values(PROVIDER_KIND_INFO).map(({ litellmPrefix: _prefix, ...info }) => ({ ...info, envPresent: info.envVar !== null && this.keysInEnv.has(info.envVar) }));
  }

  view(): { providers: ProviderView[]; models: ModelWithGrants[] } {
    return { providers: this.providers.map((provider) => this.providerView(provider)), models: this.models };
  }

  status() {
    return this.sidecar.status();
  }

  /** Reads LiteLLM's prices (and keeps trying while it does not answer); stop() ends that. */
  watchPrices(): void {
    this.sidecar.watchPrices();
  }

  stop(): void {
    this.sidecar.stop();
  }

  private providerView(provider: ProviderRecord): ProviderView {
    const { keyHint: hint, ...rest } = provider;
    const envVar = PROVIDER_KIND_INFO[provider.kind].envVar;
    const envPresent = envVar !== null && this.keysInEnv.has(envVar);
    const source = this.sidecar.hasStoredKey(provider.id) ? 'stored' : envPresent ? 'env' : 'none';
    return { ...rest, key: { source, hint: source === 'stored' ? hint : null, envVar, envPresent }, modelCount: this.models.filter((model) => model.providerId === provider.id).length };
  }

  createProvider(context: RequestContext, input: z.output<typeof createProviderSchema>): ProviderView {
    if (this.providers.some((provider) => sameName(provider.name, input.name))) {
      throw new ConflictError(`A provider named "${input.name}" exists already.`, { code: 'provider_exists', fields: [{ field: 'name', message: 'is taken' }] });
    }
    const baseUrl = this.checkBaseUrl(input.kind, input.baseUrl ?? null);
    const created = this.catalog.createProvider({ name: input.name, kind: input.kind, baseUrl, keyHint: input.apiKey ? keyHint(input.apiKey) : null });
    if (input.apiKey) this.sidecar.setProviderKey(created.id, input.apiKey);
    this.audit.record(context, 'model_provider.create', created.name, 'success', { kind: created.kind, baseUrl, key: input.apiKey ? 'stored' : 'none' });
    this.changed();
    return this.providerView(this.providers.find((provider) => provider.id === created.id)!);
  }

  updateProvider(context: RequestContext, id: number, input: z.output<typeof updateProviderSchema>): ProviderView {
    const provider = this.providerOrThrow(id);
    if (input.name !== undefined && this.providers.some((other) => other.id !== id && sameName(other.name, input.name!))) {
      throw new ConflictError(`A provider named "${input.name}" exists already.`, { code: 'provider_exists', fields: [{ field: 'name', message: 'is taken' }] });
    }
    const baseUrl = input.baseUrl === undefined ? undefined : this.checkBaseUrl(provider.kind, input.baseUrl);
    // A stored key goes to the address it was typed for, never to one set later without it.
    if (baseUrl !== undefined && baseUrl !== provider.baseUrl && this.sidecar.hasStoredKey(id) && input.apiKey === undefined) {
      throw new ValidationError([{ field: 'apiKey', message: 'type the key again for the new address (or remove it)' }]);
    }
    const keyHintPatch = input.apiKey === undefined ? {} : { keyHint: input.apiKey === null ? null : keyHint(input.apiKey) };
    this.catalog.updateProvider(id, { ...(input.name === undefined ? {} : { name: input.name }), ...(baseUrl === undefined ? {} : { baseUrl }), ...keyHintPatch });
    if (input.apiKey !== undefined) this.sidecar.setProviderKey(id, input.apiKey);
    const key = input.apiKey === undefined ? undefined : input.apiKey === null ? 'removed' : 'replaced';
    this.audit.record(context, 'model_provider.update', input.name ?? provider.name, 'success', { fields: Object.keys(input).filter((field) => field !== 'apiKey'), ...(key ? { key } : {}) });
    this.changed();
    return this.providerView(this.providers.find((candidate) => candidate.id === id)!);
  }

  deleteProvider(context: RequestContext, id: number): void {
    const provider = this.providerOrThrow(id);
    const using = this.models.filter((model) => model.providerId === id);
    if (using.length > 0) {
      throw new ConflictError(`Models use this provider: ${using.map((model) => model.name).join(', ')}. Delete them or move them to another provider first.`, { code: 'provider_in_use' });
    }
    this.catalog.deleteProvider(id);
    this.sidecar.setProviderKey(id, null);
    this.audit.record(context, 'model_provider.delete', provider.name, 'success');
    this.changed();
  }

  createModel(context: RequestContext, input: z.output<typeof createModelSchema>): ModelWithGrants {
    this.checkModel(null, input);
    const { allowedUserIds, ...fields } = input;
    const model = this.catalog.saveModel(null, { ...fields, isDefault: fields.isDefault || !this.models.some((other) => other.isDefault) }, allowedUserIds);
    this.audit.record(context, 'model.create', model.name, 'success', { provider: this.providerOrThrow(model.providerId).name, upstreamModel: model.upstreamModel, access: model.access });
    this.changed();
    return this.catalog.model(model.id)!;
  }

  updateModel(context: RequestContext, id: number, input: z.output<typeof updateModelSchema>): ModelWithGrants {
    const current = this.modelOrThrow(id);
    this.checkModel(id, { ...current, ...input });
    const { allowedUserIds, ...fields } = input;
    const model = this.catalog.saveModel(id, fields, allowedUserIds);
    this.audit.record(context, 'model.update', model.name, 'success', { fields: Object.keys(input) });
    this.changed();
    return model;
  }

  deleteModel(context: RequestContext, id: number): void {
    const model = this.modelOrThrow(id);
    this.catalog.deleteModel(id);
    this.audit.record(context, 'model.delete', model.name, 'success');
    this.changed();
  }

  /** A one-token call through LiteLLM, once it has the latest configuration. */
  async check(model: ModelWithGrants, gateway: { check(name: string): Promise<{ ok: true; latencyMs: number } | { ok: false; message: string }> }) {
    if (!model.enabled) return { ok: false as const, message: 'This model is turned off: turn it on to check it.' };
    await this.sidecar.settled();
    return gateway.check(model.name);
  }

  /** The enabled models this user may use, and their default (the admin's choice when they may use it). */
  allowedFor(user: CatalogUser): { models: AllowedModel[]; default: AllowedModel | null; anyEnabled: boolean } {
    const enabled = this.models.filter((model) => model.enabled);
    const models = enabled
      .filter((model) => model.access === 'everyone' || (model.access === 'admins' ? user.role === 'admin' : model.allowedUserIds.includes(user.id)))
      .map((model) => this.withKnownPrice(model));
    return { models, default: models.find((model) => model.isDefault) ?? models[0] ?? null, anyEnabled: enabled.length > 0 };
  }

  /** An admin's prices, else LiteLLM's (its price list knows most public models): what budgets and costs use. */
  private withKnownPrice(model: ModelWithGrants): ModelWithGrants {
    if (model.inputPricePerMTok !== null || model.outputPricePerMTok !== null) return model;
    const known = this.sidecar.pricePerMTok(model.name);
    return known ? { ...model, inputPricePerMTok: known.input, outputPricePerMTok: known.output } : model;
  }

  /** For a caller known by id (a runtime's token): their role decides what 'admins' models they see. */
  allowedForUser(userId: number): ReturnType<ModelCatalogService['allowedFor']> {
    const user = this.users.findById(userId);
    return this.allowedFor({ id: userId, role: user?.role ?? 'user' });
  }

  offeredTo(userId: number): OfferedModels {
    const allowed = this.allowedForUser(userId);
    const offered = (model: AllowedModel) => ({ name: model.name, contextWindow: model.contextWindow, maxTokens: model.maxTokens });
    return { models: allowed.models.map(offered), default: allowed.default ? offered(allowed.default) : null };
  }

  /** Writes LiteLLM's configuration as the catalog stands (at start, and after every change). */
  apply(): void {
    this.sidecar.apply(
      this.providers.map((provider) => ({ id: provider.id, kind: provider.kind, baseUrl: provider.baseUrl })),
      this.models,
    );
  }

  private reload(): void {
    this.providers = this.catalog.providers();
    this.models = this.catalog.models();
  }

  private changed(): void {
    this.reload();
    this.apply();
    this.push.pushAll((userId) => this.offeredTo(userId)).catch((error: unknown) => this.logger.warn('could not give running runtimes their new model lists', { error }));
  }

  private checkBaseUrl(kind: ProviderRecord['kind'], baseUrl: string | null): string | null {
    const info = PROVIDER_KIND_INFO[kind];
    if (info.baseUrl === 'required' && !baseUrl && !info.defaultBaseUrl) throw new ValidationError([{ field: 'baseUrl', message: `is required for ${info.label}` }]);
    if (info.baseUrl === 'none' && baseUrl) throw new ValidationError([{ field: 'baseUrl', message: `${info.label} has a fixed address: leave it empty` }]);
    return baseUrl;
  }

  private checkModel(id: number | null, model: { name: string; providerId: number; allowedUserIds: number[] }): void {
    if (this.models.some((other) => other.id !== id && sameName(other.name, model.name))) {
      throw new ConflictError(`A model named "${model.name}" exists already.`, { code: 'model_exists', fields: [{ field: 'name', message: 'is taken' }] });
    }
    if (!this.providers.some((provider) => provider.id === model.providerId)) throw new ValidationError([{ field: 'providerId', message: 'is not a provider' }]);
    const unknown = model.allowedUserIds.filter((userId) => !this.users.findById(userId));
    if (unknown.length > 0) throw new ValidationError([{ field: 'allowedUserIds', message: `no such users: ${unknown.join(', ')}` }]);
  }

  private providerOrThrow(id: number): ProviderRecord {
    const provider = this.providers.find((candidate) => candidate.id === id);
    if (!provider) throw new NotFoundError('provider');
    return provider;
  }

  private modelOrThrow(id: number): ModelWithGrants {
    const model = this.models.find((candidate) => candidate.id === id);
    if (!model) throw new NotFoundError('model');
    return model;
  }
}
