import { EventEmitter } from 'node:events';

export interface TandemEvent {
  /** e.g. `model.version.created`; subscribers filter on the prefix before the first dot. */
  type: string;
  resourceType: string;
  resourceId: string;
  at: string;
  data?: Record<string, unknown>;
}

/** In-process pub/sub so that panels can refresh live when others change things. */
export class EventBus {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  publish(event: Omit<TandemEvent, 'at'>): void {
    this.emitter.emit('event', { ...event, at: new Date().toISOString() });
  }

  subscribe(listener: (event: TandemEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }
}
