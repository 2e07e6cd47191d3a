/** Providers, models, who may use them, and per-user model limits (db/models.table.ts). */
import { eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { modelGrants, modelProviders, models, userModelLimits } from '../db/schema';

export type ProviderRecord = typeof modelProviders.$inferSelect;
export type NewProvider = Omit<typeof modelProviders.$inferInsert, 'id' | 'createdAt' | 'updatedAt'>;
export type ModelRecord = typeof models.$inferSelect;
export type NewModel = Omit<typeof models.$inferInsert, 'id' | 'createdAt' | 'updatedAt'>;
export type LimitOverridesRecord = typeof userModelLimits.$inferSelect;
export type LimitOverrides = Omit<LimitOverridesRecord, 'userId' | 'updatedAt'>;

export interface ModelWithGrants extends ModelRecord {
  allowedUserIds: number[];
}

function prepareLimitsQuery(db: Db) {
  return db
    .select({
      dailyTokens: userModelLimits.dailyTokens,
      monthlyTokens: userModelLimits.monthlyTokens,
      dailyCostUsd: userModelLimits.dailyCostUsd,
      monthlyCostUsd: userModelLimits.monthlyCostUsd,
      requestsPerMinute: userModelLimits.requestsPerMinute,
      concurrentRequests: userModelLimits.concurrentRequests,
    })
    .from(userModelLimits)
    .where(eq(userModelLimits.userId, sql.placeholder('userId')))
    .prepare();
}

export class ModelCatalogRepository {
  /** Read on every model call: prepared once. */
  private readonly limitsQuery: ReturnType<typeof prepareLimitsQuery>;

  constructor(private readonly db: Db) {
    this.limitsQuery = prepareLimitsQuery(db);
  }

  providers(): ProviderRecord[] {
    return this.db.select().from(modelProviders).orderBy(modelProviders.name).all();
  }

  provider(id: number): ProviderRecord | undefined {
    return this.db.select().from(modelProviders).where(eq(modelProviders.id, id)).get();
  }

  createProvider(provider: NewProvider, now = new Date()): ProviderRecord {
    return this.db.insert(modelProviders).values({ ...provider, createdAt: now, updatedAt: now }).returning().get();
  }

  updateProvider(id: number, patch: Partial<NewProvider>, now = new Date()): ProviderRecord | undefined {
    return this.db.update(modelProviders).set({ ...patch, updatedAt: now }).where(eq(modelProviders.id, id)).returning().get();
  }

  deleteProvider(id: number): void {
    this.db.delete(modelProviders).where(eq(modelProviders.id, id)).run();
  }

  modelsOfProvider(providerId: number): number {
    return this.db.select({ count: sql<number>`count(*)` }).from(models).where(eq(models.providerId, providerId)).get()?.count ?? 0;
  }

  models(): ModelWithGrants[] {
    const grants = new Map<number, number[]>();
    for (const grant of this.db.select().from(modelGrants).orderBy(modelGrants.userId).all()) {
      grants.set(grant.modelId, [...(grants.get(grant.modelId) ?? []), grant.userId]);
    }
    return this.db
      .select()
      .from(models)
      .orderBy(models.name)
      .all()
      .map((model) => ({ ...model, allowedUserIds: grants.get(model.id) ?? [] }));
  }

  model(id: number): ModelWithGrants | undefined {
    return this.models().find((model) => model.id === id);
  }

  /** Creates or changes a model and its grants in one transaction; `isDefault` moves the default to it. */
  saveModel(id: number | null, model: Partial<NewModel>, allowedUserIds: number[] | undefined, now = new Date()): ModelWithGrants {
    const savedId = this.db.transaction((tx) => {
      if (model.isDefault) tx.update(models).set({ isDefault: false }).where(eq(models.isDefault, true)).run();
      const saved =
        id === null
          ? tx.insert(models).values({ ...(model as NewModel), createdAt: now, updatedAt: now }).returning({ id: models.id }).get()
          : tx.update(models).set({ ...model, updatedAt: now }).where(eq(models.id, id)).returning({ id: models.id }).get();
      if (!saved) throw new Error(`model ${id} vanished while saving`);
      if (allowedUserIds !== undefined) {
        tx.delete(modelGrants).where(eq(modelGrants.modelId, saved.id)).run();
        if (allowedUserIds.length > 0) tx.insert(modelGrants).values(allowedUserIds.map((userId) => ({ modelId: saved.id, userId }))).run();
      }
      return saved.id;
    });
    return this.model(savedId)!;
  }

  deleteModel(id: number): void {
    this.db.delete(models).where(eq(models.id, id)).run();
  }

  limitOverrides(userId: number): LimitOverrides | undefined {
    return this.limitsQuery.get({ userId });
  }

  setLimitOverrides(userId: number, overrides: LimitOverrides, now = new Date()): void {
    if (Object.values(overrides).every((value) => value === null)) {
      this.db.delete(userModelLimits).where(eq(userModelLimits.userId, userId)).run();
      return;
    }
    this.db
      .insert(userModelLimits)
      .values({ userId, ...overrides, updatedAt: now })
      .onConflictDoUpdate({ target: userModelLimits.userId, set: { ...overrides, updatedAt: now } })
      .run();
  }
}
