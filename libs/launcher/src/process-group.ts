import { ExitStatus, LaunchedProcess } from './launched-process';

/** How one process of a group ended (the bench reports them all). */
export interface ProcessExit extends ExitStatus {
  name: string;
  pid: number;
}

/**
 * Every process one owner started (the bench's cluster, `npm start`), so
 * that all of them are stopped at the end, on an error and on Ctrl-C alike.
 */
export class ProcessGroup {
  private readonly members: LaunchedProcess[] = [];

  add<T extends LaunchedProcess>(member: T): T {
    this.members.push(member);
    return member;
  }

  get processes(): readonly LaunchedProcess[] {
    return this.members;
  }

  /**
   * Stops the members that `first` picks (peers, so that they unregister
   * from a live indexer), then the rest, each gracefully within its stop bound.
   */
  async stopAll(first: (member: LaunchedProcess) => boolean = () => false): Promise<void> {
    await Promise.all(this.members.filter(first).map((member) => member.stop()));
    await Promise.all(this.members.map((member) => member.stop()));
  }

  /** For an exit handler that cannot wait. */
  killNow(): void {
    for (const member of this.members) member.killNow();
  }

  exits(): ProcessExit[] {
    return this.members.map((member) => ({
      name: member.name,
      pid: member.pid,
      code: member.exit?.code ?? null,
      signal: member.exit?.signal ?? null,
    }));
  }
}
