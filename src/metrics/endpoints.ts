import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ListenAddress } from '../ip/index.ts';
import { EndpointServer, type Readiness } from './server.ts';

export interface EndpointsInit {
  log: Logger;
  /** Where `/metrics` is served; undefined: nowhere. */
  metricsAddr: string | undefined;
  /** Where `/healthz`, `/readyz` and `/debug/<name>` are served; undefined: nowhere. */
  healthAddr: string | undefined;
  registry: Registry;
  ready: () => Readiness;
  health?: () => Readiness;
  debug?: Record<string, () => unknown>;
}

/**
 * A process's HTTP endpoints on their two addresses: `/metrics` where
 * Prometheus reaches it, the probes and the debug bodies on another address
 * (the speaker's default is loopback: what it knows of the mesh and the
 * cluster is nobody else's business, docs/install.md). The same address for
 * both is one server serving everything.
 */
export class Endpoints {
  readonly #servers: EndpointServer[] = [];
  /** What listens where (the port picked for port 0), in listen order. */
  readonly bound: (ListenAddress & { paths: string[] })[] = [];

  private constructor() {}

  /**
   * Listens on both addresses (metrics first); throws ListenAddressError or
   * EndpointListenError, with nothing left listening, when one cannot be served.
   */
  static async listen(init: EndpointsInit): Promise<Endpoints> {
    const { log, metricsAddr, healthAddr } = init;
    const probes = { ready: init.ready, ...(init.health === undefined ? {} : { health: init.health }) };
    const debug = init.debug === undefined ? {} : { debug: init.debug };
    const plan: [string, EndpointServer][] = [];
    if (metricsAddr !== undefined && metricsAddr === healthAddr)
      plan.push([metricsAddr, new EndpointServer({ log, registry: init.registry, ...probes, ...debug })]);
    else {
      if (metricsAddr !== undefined)
        plan.push([metricsAddr, new EndpointServer({ log, registry: init.registry })]);
      if (healthAddr !== undefined) plan.push([healthAddr, new EndpointServer({ log, ...probes, ...debug })]);
    }
    const endpoints = new Endpoints();
    try {
      for (const [addr, server] of plan) {
        const at = await server.listen(addr);
        endpoints.#servers.push(server);
        endpoints.bound.push({ ...at, paths: server.paths() });
        log.info({ address: `${at.host}:${at.port}`, paths: server.paths() }, 'serving HTTP endpoints');
      }
    } catch (err) {
      await endpoints.close();
      throw err;
    }
    return endpoints;
  }

  /** Stops every server (idempotent). */
  async close(): Promise<void> {
    await Promise.all(this.#servers.map((s) => s.close()));
  }
}
