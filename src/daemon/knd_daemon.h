/*
 * knd_daemon.h - `knd serve`: the daemon's entry point. Owns the loop, the store, the listeners
 * and every subsystem; everything else receives what it needs from here explicitly.
 */
#ifndef KND_DAEMON_H
#define KND_DAEMON_H

/** Runs `knd serve [flags]` in the foreground; argv[0] is "serve". Returns the exit code. */
int knd_serve_main(int argc, char **argv);

#endif
