/**
 * Keeps serialport's unix poller watching every event someone waits for.
 *
 * Why: bindings-cpp 13's native Poller::poll(events) remembers the union of the events asked for
 * but calls uv_poll_start() with only the new one (src/poller.cpp), and uv_poll_start replaces the
 * watched set. A write that met EAGAIN waits for "writable"; when the read loop then meets EAGAIN
 * and asks for "readable", the fd is no longer watched for writability (seen in
 * /proc/<pid>/fdinfo: the pty's epoll entry without EPOLLOUT). The write resumes only if more
 * input arrives; when the other side waits for the rest of that write (a flasher stub waiting
 * for a data block), both wait forever. Here every poll() also asks for the events that still
 * have a waiter, so uv_poll_start always gets the whole set.
 */

/** bindings-cpp EVENTS (dist/poller.js). */
const UV_READABLE = 0b0001;
const UV_WRITABLE = 0b0010;
const UV_DISCONNECT = 0b0100;

interface UnixPoller {
  poll(eventFlag?: number): void;
  listenerCount(event: string): number;
}

function isUnixPoller(p: unknown): p is UnixPoller {
  return (
    typeof p === "object" &&
    p !== null &&
    typeof (p as UnixPoller).poll === "function" &&
    typeof (p as UnixPoller).listenerCount === "function"
  );
}

/** Patches an opened unix port binding's poller in place (Windows bindings have none: unchanged). */
export function keepPollInterests<P>(port: P): P {
  const poller = (port as { poller?: unknown }).poller;
  if (!isUnixPoller(poller)) return port;
  const poll = poller.poll.bind(poller);
  poller.poll = (eventFlag = 0) => {
    // Poller.once() polls before it adds its own listener, so eventFlag carries the new waiter.
    let flags = eventFlag;
    if (poller.listenerCount("readable") > 0) flags |= UV_READABLE;
    if (poller.listenerCount("writable") > 0) flags |= UV_WRITABLE;
    if (poller.listenerCount("disconnect") > 0) flags |= UV_DISCONNECT;
    poll(flags);
  };
  return port;
}
