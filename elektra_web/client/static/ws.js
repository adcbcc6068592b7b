// @ts-check
// A minimal graphql-transport-ws client: one socket, many subscriptions,
// reconnect with backoff (subscriptions are sent again), token in connection_init.
// Its events: "reconnecting" ({delay, attempt}), "lost", "open" ({reconnected}).

import { emit, getToken } from './api.js';
import { Emitter } from './emitter.js';

/**
 * @typedef {object} Handlers
 * @property {(data: any) => void} [next]
 * @property {(error: any) => void} [error]
 * @property {() => void} [complete]
 */

export class LiveClient extends Emitter {
  /** @param {string} url */
  constructor(url) {
    super();
    this.url = url;
    /** @type {Map<string, {query: string, variables: Record<string, any>, handlers: Handlers}>} */
    this.subs = new Map();
    this.nextId = 1;
    /** @type {WebSocket | null} */
    this.socket = null;
    this.acked = false;
    this.attempt = 0;
    this.stopped = true;
    this.everConnected = false;
    /** @type {number | undefined} */
    this.timer = undefined;
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  /** Close for good (sign-out): subscriptions stay registered for a later start(). */
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.socket) this.socket.close(1000, 'bye');
    this.socket = null;
    this.acked = false;
  }

  restart() {
    this.stop();
    this.attempt = 0;
    this.start();
  }

  connect() {
    clearTimeout(this.timer);
    let socket;
    try {
      socket = new WebSocket(this.url, 'graphql-transport-ws');
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    this.acked = false;
    socket.addEventListener('open', () => {
      const token = getToken();
      this.send({ type: 'connection_init', payload: token ? { token } : {} });
    });
    socket.addEventListener('message', (event) => this.receive(event));
    socket.addEventListener('close', (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      const wasAcked = this.acked;
      this.acked = false;
      if (event.code === 4401 || event.code === 4403) {
        this.stopped = true;
        emit('unauthenticated');
        return;
      }
      if (this.stopped) return;
      if (wasAcked || this.everConnected) this.emit('lost');
      this.scheduleReconnect();
    });
  }

  scheduleReconnect() {
    if (this.stopped) return;
    const delay = Math.min(10000, 400 * 2 ** this.attempt) * (0.8 + Math.random() * 0.4);
    this.attempt += 1;
    this.emit('reconnecting', { delay, attempt: this.attempt });
    this.timer = window.setTimeout(() => this.connect(), delay);
  }

  /** @param {Record<string, any>} message */
  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
    }
  }

  /** @param {MessageEvent} event */
  receive(event) {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    const sub = message.id ? this.subs.get(message.id) : null;
    switch (message.type) {
      case 'connection_ack': {
        this.acked = true;
        this.attempt = 0;
        const reconnected = this.everConnected;
        this.everConnected = true;
        for (const [id, s] of this.subs) this.sendSubscribe(id, s);
        this.emit('open', { reconnected });
        break;
      }
      case 'ping':
        this.send({ type: 'pong' });
        break;
      case 'next':
        if (sub) {
          const { data, errors } = message.payload || {};
          if (errors && errors.length) sub.handlers.error?.(errors[0]);
          else if (data) sub.handlers.next?.(data);
        }
        break;
      case 'error':
        if (sub) {
          this.subs.delete(message.id);
          const first = Array.isArray(message.payload) ? message.payload[0] : message.payload;
          sub.handlers.error?.(first || { message: 'subscription failed' });
        }
        break;
      case 'complete':
        if (sub) {
          this.subs.delete(message.id);
          sub.handlers.complete?.();
        }
        break;
      default:
        break;
    }
  }

  /** @param {string} id @param {{query: string, variables: Record<string, any>}} sub */
  sendSubscribe(id, sub) {
    this.send({ id, type: 'subscribe', payload: { query: sub.query, variables: sub.variables } });
  }

  /**
   * Subscribe; returns a function that ends the subscription.
   * @param {string} query
   * @param {Record<string, any>} variables
   * @param {Handlers} handlers
   * @returns {() => void}
   */
  subscribe(query, variables, handlers) {
    const id = String(this.nextId++);
    const sub = { query, variables, handlers };
    this.subs.set(id, sub);
    if (this.acked) this.sendSubscribe(id, sub);
    return () => {
      if (this.subs.delete(id) && this.acked) this.send({ id, type: 'complete' });
    };
  }

  get connected() {
    return this.acked;
  }
}
