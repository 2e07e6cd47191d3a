/** What the API returns for platform objects: plain JSON, dates as ISO strings. */
import type { AuditRecord } from '../services/audit.service';
import type { RuntimeView } from '../services/runtime.service';
import type { User } from '../services/user.service';

export interface UserDto {
  id: number;
  username: string;
  role: 'admin' | 'user';
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
  lastLoginAt: string | null;
}

export function toUserDto(user: User): UserDto {
  return {
    id: user.id,
    username: user.username,
    role: user.role,
    disabled: user.disabled,
    createdAt: user.createdAt.toISOString(),
    updatedAt: user.updatedAt.toISOString(),
    lastLoginAt: user.lastLoginAt?.toISOString() ?? null,
  };
}

export function toAuditDto(entry: AuditRecord) {
  return {
    id: entry.id,
    at: entry.at.toISOString(),
    actor: entry.actorName,
    actorId: entry.actorId,
    action: entry.action,
    target: entry.target,
    result: entry.result,
    requestId: entry.requestId,
    ip: entry.ip,
    detail: entry.detail ? (JSON.parse(entry.detail) as unknown) : null,
  };
}

export function toRuntimeDto(runtime: RuntimeView) {
  return {
    username: runtime.username,
    state: runtime.state,
    image: runtime.image,
    startedAt: runtime.startedAt?.toISOString() ?? null,
    memoryBytes: runtime.usage?.memoryBytes ?? null,
    memoryLimitBytes: runtime.usage?.memoryLimitBytes ?? null,
    cpuPercent: runtime.usage ? Math.round(runtime.usage.cpuPercent * 10) / 10 : null,
    limits: runtime.limits,
    controlUiUrl: runtime.controlUiUrl,
    lastActivityAt: runtime.lastActivityAt?.toISOString() ?? null,
    error: runtime.error,
    notice: runtime.notice,
    lastExit: runtime.lastExit,
  };
}
