// A proxyless gRPC client, as an application would be one: @grpc/grpc-js-xds resolves xds:///SERVICE
// against one xDS server and load-balances calls over the endpoints it serves. Makes COUNT calls to
// /weft.test.Backend/Who (answered by test/netns/testing/xds-backend-process.mjs with its name) and prints how many
// each backend answered; exit 1 when a call fails or fewer than BACKENDS distinct backends answered.
//
//   node demo/grpc-calls.mjs XDS_HOST:PORT SERVICE COUNT [BACKENDS]
const [server, service, countText, backendsText = '1'] = process.argv.slice(2);
const count = Number(countText);
const backends = Number(backendsText);
if (!server || !service || !(count > 0) || !(backends > 0)) {
  console.error('usage: node demo/grpc-calls.mjs XDS_HOST:PORT SERVICE COUNT [BACKENDS]');
  process.exit(2);
}

// grpc-js-xds reads its bootstrap once, when it registers: set it before loading it.
process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
  xds_servers: [{ server_uri: server, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
  node: { id: 'weft-demo-client', cluster: 'weft-demo', locality: { zone: 'demo' } },
});
const { default: grpc } = await import('@grpc/grpc-js');
const { default: xds } = await import('@grpc/grpc-js-xds');
xds.register();

const client = new grpc.Client(`xds:///${service}`, grpc.credentials.createInsecure());
const text = { serialize: (s) => Buffer.from(s), deserialize: (b) => b.toString() };
const call = () => new Promise((resolve, reject) => {
  client.makeUnaryRequest('/weft.test.Backend/Who', text.serialize, text.deserialize, 'who',
    { deadline: Date.now() + 5_000 }, (err, who) => (err ? reject(new Error(`call failed: ${err.details || err.message}`)) : resolve(who)));
});

const answers = new Map();
try {
  for (let i = 0; i < count; i++) {
    const who = await call();
    answers.set(who, (answers.get(who) ?? 0) + 1);
  }
} catch (err) {
  console.error(`grpc-calls: ${err.message}`);
  process.exit(1);
}
console.log(`${count} calls to xds:///${service} answered by:`);
for (const [who, n] of [...answers].sort()) console.log(`  ${who}: ${n}`);
client.close();
if (answers.size < backends) {
  console.error(`grpc-calls: ${answers.size} backends answered, expected ${backends}`);
  process.exit(1);
}
process.exit(0);
