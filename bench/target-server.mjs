// The benchmark's HTTP target, run as its own process so its CPU is not counted as Keel's.
import { createServer } from 'node:http'

const server = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' })
  res.end('ok')
})
server.keepAliveTimeout = 65_000
server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: server.address().port })
})
process.on('disconnect', () => process.exit(0))
