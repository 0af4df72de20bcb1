import type { ISessionContext } from '@jupyterlab/apputils';
import type { Kernel } from '@jupyterlab/services';
import type { Me } from '@tandem/server/api';
import type { TandemClient } from '../requests';

/** The comm target the Tandem kernel serves (kernel/src/identity.ts). */
const IDENTITY_TARGET = 'tandem.identity';
/** The Tandem kernel's spec (jupyter-config/data/kernels/tandem): other kernels get no token. */
const TANDEM_KERNEL = 'tandem';

/**
 * Hands the signed-in person's identity to their Tandem kernels: for every kernel a notebook
 * starts, changes to or restarts, a kernel token bound to this browser's session goes over a
 * `tandem.identity` comm (`{ url, token }`); signing out closes the comm, and the server has
 * ended the token with the session anyway. The comm is opened as soon as the kernel connection
 * exists: the connection queues it before any cell the person runs.
 */
export class KernelIdentities {
  /** The comm each followed kernel connection has open, undefined while it has none. */
  private readonly kernels = new Map<Kernel.IKernelConnection, Kernel.IComm | undefined>();

  constructor(private readonly client: TandemClient) {
    client.userChanged.connect(this.onUser, this);
  }

  /** Follows a notebook's session: its kernel now, and each kernel it changes to. */
  follow(context: ISessionContext): void {
    const attach = () => {
      const kernel = context.session?.kernel;
      if (kernel) this.add(kernel);
    };
    context.kernelChanged.connect(attach);
    attach();
  }

  private add(kernel: Kernel.IKernelConnection): void {
    if (this.kernels.has(kernel) || kernel.name !== TANDEM_KERNEL) return;
    this.kernels.set(kernel, undefined);
    kernel.statusChanged.connect(this.onStatus, this);
    kernel.disposed.connect(() => this.kernels.delete(kernel));
    void this.send(kernel);
  }

  /** A restarted kernel is a new process that knows nobody (its comms went with the old one). */
  private onStatus(kernel: Kernel.IKernelConnection, status: Kernel.Status): void {
    if (status !== 'restarting' && status !== 'autorestarting') return;
    this.kernels.set(kernel, undefined);
    void this.send(kernel);
  }

  private onUser(_: TandemClient, user: Me | null): void {
    for (const [kernel, comm] of this.kernels) {
      if (user) {
        if (!comm) void this.send(kernel);
        continue;
      }
      this.kernels.set(kernel, undefined);
      if (comm && !comm.isDisposed) comm.close({ reason: 'signed out' });
    }
  }

  private async send(kernel: Kernel.IKernelConnection): Promise<void> {
    if (this.client.mode !== 'session' || !this.client.user) return;
    let token: string;
    try {
      token = (await this.client.mintKernelToken(`kernel ${kernel.id}`)).token;
    } catch (error) {
      // A 401 has signed the person out already; the next sign-in sends again.
      console.warn('Tandem: no identity for kernel', kernel.id, error);
      return;
    }
    if (kernel.isDisposed || this.kernels.get(kernel) !== undefined || !this.client.user) return;
    const comm = kernel.createComm(IDENTITY_TARGET);
    // The kernel closes a comm it cannot use; the next sign-in or restart tries again.
    comm.onClose = () => {
      if (this.kernels.get(kernel) === comm) this.kernels.set(kernel, undefined);
    };
    this.kernels.set(kernel, comm);
    comm.open({ url: this.client.url, token });
  }
}
