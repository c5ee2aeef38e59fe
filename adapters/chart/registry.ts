// The machines `vigil chart` draws and docs/charts holds: one line each, loaded on demand.
import type { AnyStateMachine } from 'xstate';

export interface ChartedMachine {
  /** the CLI name: `vigil chart vrrp` */
  readonly name: string;
  readonly title: string;
  readonly load: () => Promise<AnyStateMachine>;
}

export const MACHINES: readonly ChartedMachine[] = [
  { name: 'vrrp', title: 'VRRP instance (vrrp_instance)', load: async () => (await import('../../machines/vrrp.machine.js')).vrrpMachine },
  { name: 'sync-group', title: 'Sync group (vrrp_sync_group)', load: async () => (await import('../../machines/sync-group.machine.js')).syncGroupMachine },
  { name: 'track-script', title: 'Track script (vrrp_script)', load: async () => (await import('../../machines/track-script.machine.js')).trackScript },
  { name: 'checker', title: 'Health checker of a real server (TCP_CHECK, HTTP_GET, MISC_CHECK, ...)', load: async () => (await import('../../machines/checker.machine.js')).checkerMachine },
  { name: 'virtual-server', title: 'Virtual server: real servers alive, quorum, sorry server (virtual_server)', load: async () => (await import('../../machines/virtual-server.machine.js')).virtualServerMachine },
  { name: 'nats-link', title: 'NATS export link', load: async () => (await import('../../machines/nats-link.machine.js')).natsLink },
  { name: 'mail-outbox', title: 'Notification mail delivery (outbox, SMTP retries with backoff)', load: async () => (await import('../../machines/mail-outbox.machine.js')).mailOutbox },
];

export const findMachine = (name: string) => MACHINES.find((m) => m.name === name);
