/**
 * Keeps the LiteLLM sidecar running the model catalog: its configuration written from the catalog and
 * the stored provider keys, and the container restarted when that changed (LiteLLM reads its file only
 * at start, and hot reload needs its database, which we do not run). Changes that come while it
 * restarts are gathered into one more restart.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../logging/logger';
import type { LiteLlmClient } from '../models/litellm-client';
import type { LiteLlmConfigFile } from '../models/litellm-config-file';
import { readSecrets, renderLiteLlmConfig, type ConfigModel, type ConfigProvider, type LiteLlmSecrets } from '../models/litellm-config';
import type { RuntimeDriver } from '../runtimes/runtime-driver';

export type GatewayState = 'ready' | 'restarting' | 'unreachable' | 'not_set_up';

export interface GatewayStatus {
  state: GatewayState;
  message: string | null;
  appliedAt: string | null;
}

export interface SidecarOptions {
  /** The container to restart after a change; null when LiteLLM runs elsewhere (restarted by its admin). */
  container: string | null;
  /** LITELLM_MASTER_KEY when set; else one is made once and kept in the configuration file. */
  masterKey: string | undefined;
  readyTimeoutMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class LiteLlmSidecar {
  private readonly secrets: LiteLlmSecrets & { masterKey: string };
  private restarting: Promise<void> | null = null;
  private restartAgain = false;
  private lastProblem: string | null = null;
  private appliedAt: Date | null = null;
  private modelCount = 0;
  /** Per-token prices LiteLLM knows, by model name; read after each (re)start. */
  private prices = new Map<string, { input: number; output: number }>();
  private pricesTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly file: LiteLlmConfigFile,
    private readonly driver: RuntimeDriver,
    private readonly client: LiteLlmClient,
    private readonly logger: Logger,
    private readonly options: SidecarOptions,
  ) {
    const kept = readSecrets(file.read());
    this.secrets = { ...kept, masterKey: options.masterKey ?? kept.masterKey ?? randomBytes(32).toString('base64url') };
    client.useMasterKey(this.secrets.masterKey);
  }

  /** Forgets keys of providers that are gone (a database started anew beside an old file): ids are reused. */
  keepKeysOf(providerIds: ReadonlySet<number>): void {
    for (const id of this.secrets.providerKeys.keys()) if (!providerIds.has(id)) this.secrets.providerKeys.delete(id);
  }

  hasStoredKey(providerId: number): boolean {
    return this.secrets.providerKeys.has(providerId);
  }

  /** A key typed by an admin (null: forget the stored one). Takes effect at the next apply(). */
  setProviderKey(providerId: number, key: string | null): void {
    if (key === null) this.secrets.providerKeys.delete(providerId);
    else this.secrets.providerKeys.set(providerId, key);
  }

  /**
   * Writes the configuration for this catalog and, when it changed and LiteLLM runs beside us,
   * restarts LiteLLM (in the background: the admin's request does not wait for it).
   */
  apply(providers: ConfigProvider[], models: ConfigModel[]): void {
    this.modelCount = models.filter((model) => model.enabled).length;
    const changed = this.file.write(renderLiteLlmConfig(providers, models, this.secrets));
    this.appliedAt = new Date();
    // LiteLLM run elsewhere (restarted by its admin): its prices as it has them now, at best. Only after
    // a change: at start-up watchPrices() reads them once.
    if (changed && !this.options.container) this.readPrices().catch(() => undefined);
    if (!changed || !this.options.container) return;
    if (this.restarting) {
      this.restartAgain = true;
      return;
    }
    this.restarting = this.restartUntilCurrent().finally(() => {
      this.restarting = null;
    });
  }

  private async restartUntilCurrent(): Promise<void> {
    do {
      this.restartAgain = false;
      try {
        // Not running (compose starts it after the control plane): it reads the new file when it starts.
        if (!(await this.driver.peer(this.options.container!))) continue;
        await this.driver.restartPeer(this.options.container!, 5);
        await this.waitReady();
        await this.readPrices();
        this.lastProblem = null;
        this.logger.info('LiteLLM restarted with the new model configuration');
      } catch (error) {
        this.lastProblem = error instanceof Error ? error.message : String(error);
        this.logger.warn('LiteLLM did not come back after its configuration changed', { error });
      }
    } while (this.restartAgain);
  }

  private async waitReady(): Promise<void> {
    const deadline = Date.now() + this.options.readyTimeoutMs;
    while (!(await this.client.alive())) {
      if (Date.now() > deadline) throw new Error(`LiteLLM did not answer within ${Math.round(this.options.readyTimeoutMs / 1000)} s of its restart`);
      await sleep(500);
    }
  }

  /** LiteLLM's price of a model per million tokens, when it knows one. */
  pricePerMTok(model: string): { input: number; output: number } | null {
    const price = this.prices.get(model);
    return price ? { input: price.input * 1e6, output: price.output * 1e6 } : null;
  }

  /**
   * Reads LiteLLM's prices now, and again every 30 s until that works (LiteLLM may start after us).
   * Stops with stop().
   */
  watchPrices(): void {
    const attempt = () => {
      this.readPrices().then(
        () => (this.pricesTimer = null),
        () => {
          this.pricesTimer = setTimeout(attempt, 30_000);
          this.pricesTimer.unref();
        },
      );
    };
    attempt();
  }

  stop(): void {
    if (this.pricesTimer) clearTimeout(this.pricesTimer);
    // Its idle keep-alive connections to LiteLLM must not hold the process open.
    this.client.close().catch(() => undefined);
  }

  private async readPrices(): Promise<void> {
    if (this.modelCount === 0) return;
    this.prices = await this.client.modelPrices();
  }

  /** Resolves when no restart is under way (for tests and for the one-token check). */
  async settled(): Promise<void> {
    while (this.restarting) await this.restarting;
  }

  async status(): Promise<GatewayStatus> {
    const appliedAt = this.appliedAt?.toISOString() ?? null;
    if (this.modelCount === 0) return { state: 'not_set_up', message: 'No model is turned on yet.', appliedAt };
    if (this.restarting) return { state: 'restarting', message: 'LiteLLM is restarting with the new configuration.', appliedAt };
    if (await this.client.alive()) return { state: 'ready', message: null, appliedAt };
    return { state: 'unreachable', message: this.lastProblem ?? 'LiteLLM does not answer.', appliedAt };
  }
}
