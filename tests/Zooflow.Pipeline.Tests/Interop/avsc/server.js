// An avsc RPC server standing in for a Flume avro source: node server.js [FAILED_FIRST]
// Prints "LISTENING <port>", then "EVENT <json>" per accepted event and "HANDSHAKE <match>" per handshake.
// With FAILED_FIRST=n the first n appendBatch calls are answered FAILED (and their events not recorded).
'use strict';
const avro = require('avsc');
const fs = require('fs');
const net = require('net');
const path = require('path');

let failFirst = Number(process.argv[2] || 0);
const protocol = avro.readProtocol(fs.readFileSync(path.join(__dirname, 'flume.avdl'), 'utf8'));
const service = avro.Service.forProtocol(protocol);
const server = service.createServer()
  .onAppendBatch((events, cb) => {
    if (failFirst > 0) {
      failFirst--;
      console.log('REFUSED ' + events.length);
      cb(null, 'FAILED');
      return;
    }
    for (const e of events) {
      console.log('EVENT ' + JSON.stringify({ headers: e.headers, body: e.body.toString('utf8') }));
    }
    cb(null, 'OK');
  })
  .onAppend((e, cb) => {
    console.log('EVENT ' + JSON.stringify({ headers: e.headers, body: e.body.toString('utf8') }));
    cb(null, 'OK');
  });
server.on('channel', (channel) => channel.on('handshake', (hreq, hres) => console.log('HANDSHAKE ' + hres.match)));
net.createServer((connection) => server.createChannel(connection)).listen(0, '127.0.0.1', function () {
  console.log('LISTENING ' + this.address().port);
});
