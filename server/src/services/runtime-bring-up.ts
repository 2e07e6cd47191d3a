/**
 * Bringing one runtime up: the container made from the platform's spec (recreated when the spec or
 * the image changed, its volume kept), started, and waited for until its gateway's /healthz says
 * ok. A crash while starting stops the container and names the cause with the last log lines.
 */
import { createHash } from 'node:crypto';
import { newRuntimeToken, runtimeTokenHash } from '../runtimes/runtime-token';
import { AppError } from '../errors/app-error';
import type { StartFailureCause } from '../metrics/observers';
import type { RuntimeRecord, RuntimeRepository } from '../repositories/runtime.repository';
import type { HealthProbe } from '../runtimes/health-probe';
import { redactingStream } from '../runtimes/log-redaction';
import { pushModelList } from '../runtimes/model-list-push';
import { PLATFORM_CONFIG_ENV, platformOpenClawConfig, type OfferedModels } from '../runtimes/openclaw-config';
import { SubnetTakenError, type RuntimeContainer, type RuntimeDriver, type RuntimeLimits } from '../runtimes/runtime-driver';
import { subnetCapacity, subnetPlan } from '../runtimes/runtime-names';
import { routingLabels } from '../proxy/routing-labels';
import type { RuntimeAddressing } from '../proxy/runtime-address';
import type { RuntimeStep } from './runtime-events';
import { causeInWords, describeExit } from './runtime-exit';
import { limitsOf, type RuntimeOwner } from './runtime-status';

export interface BringUpSettings {
  namePrefix: string;
  memoryMb: number;
  cpus: number;
  pidsLimit: number;
  startTimeoutSeconds: number;
  subnetPool: string;
  /** Where the Control UI is served from (RUNTIME_URL): the only origin its WebSocket accepts. */
  addressing: RuntimeAddressing;
  /** Traefik serves the runtime origin over TLS (CREWCLAW_TLS on): its routers must say so. */
  runtimeTls: boolean;
  modelBaseUrl: string;
  /** The models a user may use (the model catalog), listed in their openclaw.json. */
  modelsFor?: (userId: number) => OfferedModels;
}

const STOP_GRACE_SECONDS = 10;
const NO_MODELS: OfferedModels = { models: [], default: null };
const MODEL_PUSH_TIMEOUT_MS = 20_000;
const HEALTH_POLL_MS = 250;
const ERROR_LOG_LINES = 40;

export class RuntimeStartError extends AppError {
  /** `failure`: the cause in one word, for the start failures metric. */
  constructor(message: string, detail: string, readonly failure: StartFailureCause = 'other') {
    super(502, 'runtime_failed', message, { detail });
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class RuntimeBringUp {
  constructor(
    private readonly driver: RuntimeDriver,
    private readonly runtimes: RuntimeRepository,
    private readonly probe: HealthProbe,
    private readonly settings: BringUpSettings,
  ) {}

  private limitsOf(row: RuntimeRecord | undefined) {
    return limitsOf(row, this.settings);
  }

  /**
   * What a runtime's container is made from. The hash leaves out the token, which changes on every
   * create, and the limits, which Docker changes in place (driver.updateLimits) without a recreate.
   */
  private specFor(owner: RuntimeOwner, record: RuntimeRecord, image: string) {
    const subnetIndex = record.subnetIndex ?? 0;
    const plan = subnetPlan(this.settings.subnetPool, subnetIndex);
    const models = this.modelsOf(owner);
    const configFor = (token: string, offered: OfferedModels = models) =>
      platformOpenClawConfig({ username: owner.username, addressing: this.settings.addressing, proxyAddress: plan.proxy, modelBaseUrl: this.settings.modelBaseUrl, runtimeToken: token, models: offered });
    // The routing labels too: a container routed the way an older version did is made again.
    const labels = routingLabels(this.settings.namePrefix, owner.username, { tls: this.settings.runtimeTls, addressing: this.settings.addressing });
    // Not the model list: it changes with the catalog and is merged into a kept container's file at
    // each start (a model change must not make every runtime again, with a new token).
    const specHash = sha256(JSON.stringify({ image, subnetIndex, config: configFor('', NO_MODELS), labels }));
    return { subnetIndex, configFor, labels, specHash };
  }

  private modelsOf(owner: RuntimeOwner): OfferedModels {
    return this.settings.modelsFor?.(owner.id) ?? NO_MODELS;
  }

  driverLimits(record: RuntimeRecord | undefined): RuntimeLimits {
    const limits = this.limitsOf(record);
    return { memoryBytes: limits.memoryMb * 1024 * 1024, nanoCpus: Math.round(limits.cpus * 1e9), pidsLimit: this.settings.pidsLimit };
  }

  /** Makes the container run `image` and waits until its gateway is healthy. */
  async bringUp(owner: RuntimeOwner, row: RuntimeRecord, image: string, step: (name: RuntimeStep, message?: string) => void): Promise<RuntimeContainer> {
    let record = row;
    let container = await this.driver.find(owner.username);
    let kept = true;
    if (container && container.specHash !== this.specFor(owner, record, image).specHash) {
      step('stopping', 'the runtime settings or image changed: recreating its container (files are kept)');
      await this.driver.stop(owner.username, STOP_GRACE_SECONDS);
      await this.driver.removeContainer(owner.username);
      container = null;
    }
    if (!container) {
      kept = false;
      this.runtimes.update(owner.id, { state: 'creating' });
      step('creating container');
      // Another network on the host may already use the user's /28 (another install, a VPN): move on.
      const avoid = new Set<number>();
      for (;;) {
        const spec = this.specFor(owner, record, image);
        // A fresh container gets a fresh model token; only its hash is kept.
        const token = newRuntimeToken();
        try {
          container = await this.driver.create({
            username: owner.username,
            image,
            subnetIndex: spec.subnetIndex,
            limits: this.driverLimits(record),
            env: { [PLATFORM_CONFIG_ENV]: JSON.stringify(spec.configFor(token)) },
            labels: spec.labels,
            specHash: spec.specHash,
          });
        } catch (error) {
          if (!(error instanceof SubnetTakenError) || avoid.size >= 64) throw error;
          avoid.add(error.subnetIndex);
          record = this.runtimes.ensure(owner.id, subnetCapacity(this.settings.subnetPool), avoid);
          continue;
        }
        this.runtimes.update(owner.id, { tokenHash: runtimeTokenHash(token), containerId: container.id });
        break;
      }
    }
    // Limits or defaults changed while it was stopped: the kept container takes them before it runs.
    else await this.driver.updateLimits(owner.username, this.driverLimits(record));
    this.runtimes.update(owner.id, { state: 'starting' });
    step('starting');
    await this.driver.start(owner.username, record.subnetIndex ?? 0);
    step('waiting for health');
    const healthy = await this.waitHealthy(owner);
    // A kept container was made with the model list of its day: give it today's.
    if (kept) {
      await pushModelList(this.driver, owner.username, this.modelsOf(owner), MODEL_PUSH_TIMEOUT_MS).catch(() => undefined);
    }
    return healthy;
  }

  private async waitHealthy(owner: RuntimeOwner): Promise<RuntimeContainer> {
    const deadline = Date.now() + this.settings.startTimeoutSeconds * 1000;
    const restartsBefore = (await this.driver.find(owner.username))?.restartCount ?? 0;
    for (;;) {
      const container = await this.driver.find(owner.username);
      if (!container) throw new RuntimeStartError('The runtime container disappeared while starting.', '', 'container_gone');
      // The restart policy hides a crash behind a new start: a restart during start-up is a crash.
      if (container.status === 'exited' || container.status === 'restarting' || container.restartCount > restartsBefore) {
        const logs = await this.lastLogs(owner.username);
        // Stop the crash loop; the user's next start tries again.
        await this.driver.stop(owner.username, 1);
        const stopped = await this.driver.find(owner.username);
        // The code is known when we saw it down; our own stop's code (SIGTERM) says nothing about the crash.
        const exitCode = container.exitCode;
        const oomKilled = container.oomKilled || (stopped?.oomKilled ?? false);
        const cause =
          oomKilled || (exitCode !== null && exitCode !== 0)
            ? causeInWords({ ...describeExit({ exitCode, oomKilled }), memoryMb: this.limitsOf(this.runtimes.find(owner.id)).memoryMb })
            : 'its process kept exiting and being restarted';
        throw new RuntimeStartError(`The runtime stopped while starting: ${cause}.`, logs, oomKilled ? 'out_of_memory' : 'crashed');
      }
      if (container.status === 'running' && container.address && (await this.probe(container.address))) return container;
      if (Date.now() > deadline) {
        throw new RuntimeStartError(`The runtime did not become healthy within ${this.settings.startTimeoutSeconds} s.`, await this.lastLogs(owner.username), 'health_timeout');
      }
      await sleep(HEALTH_POLL_MS);
    }
  }

  /** The last log lines, redacted; empty when they cannot be read. */
  async lastLogs(username: string): Promise<string> {
    try {
      const stream = await this.driver.logs(username, { tail: ERROR_LOG_LINES, follow: false });
      const chunks: Buffer[] = [];
      for await (const chunk of stream.pipe(redactingStream())) chunks.push(Buffer.from(chunk as Buffer));
      return Buffer.concat(chunks).toString('utf8');
    } catch {
      return '';
    }
  }

}
