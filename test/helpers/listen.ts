import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'

/** A server listening on 127.0.0.1 and an ephemeral port. */
export interface ListeningServer {
  port: number
  /** Stops listening and destroys open connections, so a test never waits on a hung client. */
  close(): Promise<void>
}

/** Starts `server` on 127.0.0.1, port 0, and tracks its sockets so `close` can end them. */
export async function listenOnLoopback(server: Server): Promise<ListeningServer> {
  const sockets = new Set<Socket>()
  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  }
  server.on('connection', track)
  server.on('secureConnection', track)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

/** A port on 127.0.0.1 that nothing listens on (bound briefly, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer()
  const { port, close } = await listenOnLoopback(server)
  await close()
  return port
}
