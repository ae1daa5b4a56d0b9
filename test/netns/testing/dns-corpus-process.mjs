// Sends weftd's DNS server a corpus of malformed messages over UDP and TCP, from inside a container
// namespace: `node dns-corpus-process.mjs <server address>`. Prints how many it sent; answers are not
// waited for (a well-behaved server answers FORMERR or nothing).
import { createSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';

const server = process.argv[2];
const header = (id, flags, qd, an, ns, ar) => {
  const b = Buffer.alloc(12);
  [id, flags, qd, an, ns, ar].forEach((v, i) => b.writeUInt16BE(v, i * 2));
  return b;
};
const question = Buffer.from([3, 119, 101, 98, 4, 119, 101, 102, 116, 8, 105, 110, 116, 101, 114, 110, 97, 108, 0, 0, 1, 0, 1]);
const corpus = [
  Buffer.alloc(0),
  Buffer.from([0x12]),
  header(1, 0x0100, 1, 0, 0, 0).subarray(0, 11),
  header(2, 0x0100, 1, 0, 0, 0),                                            // a question announced, none there
  header(3, 0x0100, 0xffff, 0xffff, 0xffff, 0xffff),                        // counts far beyond the message
  Buffer.concat([header(4, 0x0100, 1, 0, 0, 0), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]),  // pointer to itself
  Buffer.concat([header(5, 0x0100, 1, 0, 0, 0), Buffer.from([0x40, 0x61, 0, 0, 1, 0, 1])]), // reserved label type
  Buffer.concat([header(6, 0x0100, 1, 0, 0, 0), Buffer.from([63, ...Buffer.alloc(63, 0x61)]), Buffer.from([0, 0, 1])]), // cut short
  Buffer.concat([header(7, 0x0100, 1, 0, 0, 0), ...Array.from({ length: 130 }, () => Buffer.from([1, 0x61])), Buffer.from([0, 0, 1, 0, 1])]), // name past 255
  Buffer.concat([header(8, 0x8180, 1, 0, 0, 0), question]),                 // a response
  Buffer.concat([header(9, 0x0100, 2, 0, 0, 0), question, question]),       // two questions
  Buffer.concat([header(10, 0x0100, 1, 0, 0, 2), question, Buffer.from([0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 0])]), // two OPTs
  Buffer.concat([header(11, 0x0100, 1, 0, 0, 1), question, Buffer.from([0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 9, 0, 1, 0, 40])]), // an option overrunning the record
  Buffer.concat([header(12, 0x7900, 1, 0, 0, 0), question]),                // opcode 15
];
for (let i = 0; i < 200; i++) corpus.push(Buffer.from(Array.from({ length: (i * 37) % 600 }, (_, j) => (i * 131 + j * 17) & 0xff)));

const udp = createSocket(isIPv6(server) ? 'udp6' : 'udp4');
for (const message of corpus) udp.send(message, 53, server);
await new Promise((resolve) => setTimeout(resolve, 200));
udp.close();

// Over TCP: each message framed, then a length that promises more than arrives, then an oversized length.
await new Promise((resolve) => {
  const socket = connect({ host: server, port: 53 }, () => {
    for (const message of corpus) {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(message.length);
      socket.write(Buffer.concat([length, message]));
    }
    socket.end(Buffer.from([0xff, 0xff, 1, 2, 3]));
  });
  socket.on('data', () => undefined);
  socket.on('error', resolve);
  socket.on('close', resolve);
  // Junk that reads as a question outside the zone waits on the upstream: not worth waiting for here.
  setTimeout(() => socket.destroy(), 500);
});
console.log(`sent ${corpus.length}`);
