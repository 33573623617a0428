// An avsc RPC client sending Flume events to an avro source: node client.js PORT COUNT
// Prints "HANDSHAKE <match>" per handshake, "STATUS <batch> <status>" per call, "DONE <ok>" at the end.
'use strict';
const avro = require('avsc');
const fs = require('fs');
const net = require('net');
const path = require('path');

const [port, count] = process.argv.slice(2).map(Number);
const protocol = avro.readProtocol(fs.readFileSync(path.join(__dirname, 'flume.avdl'), 'utf8'));
const service = avro.Service.forProtocol(protocol);
const socket = net.connect({ host: '127.0.0.1', port });
const client = service.createClient({ buffering: true, transport: socket });
client.on('channel', (channel) => channel.on('handshake', (hreq, hres) => console.log('HANDSHAKE ' + hres.match)));

const batches = [];
for (let i = 0; i < count; i += 100) {
  const events = [];
  for (let j = i; j < Math.min(i + 100, count); j++) {
    events.push({ headers: { seq: String(j), lang: 'js-ü' }, body: Buffer.from('avsc-' + j) });
  }
  batches.push(events);
}

let ok = 0;
function next(index) {
  if (index === batches.length) {
    client.append({ headers: {}, body: Buffer.from('avsc-single') }, (err, status) => {
      console.log('STATUS append ' + (err ? 'ERROR ' + err.message : status));
      if (!err && status === 'OK') { ok++; }
      console.log('DONE ' + ok);
      client.destroyChannels();
      socket.end();
      process.exitCode = ok === batches.length + 1 ? 0 : 1;
    });
    return;
  }
  client.appendBatch(batches[index], (err, status) => {
    console.log('STATUS ' + index + ' ' + (err ? 'ERROR ' + err.message : status));
    if (!err && status === 'OK') { ok++; }
    next(index + 1);
  });
}
next(0);
