import java.io.*;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.*;
import org.apache.avro.*;
import org.apache.avro.compiler.idl.Idl;
import org.apache.avro.generic.*;
import org.apache.avro.io.*;
import org.apache.avro.util.ByteBufferOutputStream;

/** Prints Flume Avro RPC frames built by Java Avro (Debian libavro-java), laid out as Requestor/Responder/NettyTransportCodec lay them out. */
public class GoldenFrames {
  static final String IDL = "@namespace(\"org.apache.flume.source.avro\")\nprotocol AvroSourceProtocol {\n  enum Status { OK, FAILED, UNKNOWN }\n  record AvroFlumeEvent { map<string> headers; bytes body; }\n  Status append( AvroFlumeEvent event );\n  Status appendBatch( array<AvroFlumeEvent> events );\n}\n";
  static final Schema MD5 = Schema.createFixed("MD5", null, "org.apache.avro.ipc", 16);
  static final Schema HREQ = new Schema.Parser().parse("{\"type\":\"record\",\"name\":\"HandshakeRequest\",\"namespace\":\"org.apache.avro.ipc\",\"fields\":[{\"name\":\"clientHash\",\"type\":{\"type\":\"fixed\",\"name\":\"MD5\",\"size\":16}},{\"name\":\"clientProtocol\",\"type\":[\"null\",\"string\"]},{\"name\":\"serverHash\",\"type\":\"MD5\"},{\"name\":\"meta\",\"type\":[\"null\",{\"type\":\"map\",\"values\":\"bytes\"}]}]}");
  static final Schema HRES = new Schema.Parser().parse("{\"type\":\"record\",\"name\":\"HandshakeResponse\",\"namespace\":\"org.apache.avro.ipc\",\"fields\":[{\"name\":\"match\",\"type\":{\"type\":\"enum\",\"name\":\"HandshakeMatch\",\"symbols\":[\"BOTH\",\"CLIENT\",\"NONE\"]}},{\"name\":\"serverProtocol\",\"type\":[\"null\",\"string\"]},{\"name\":\"serverHash\",\"type\":[\"null\",{\"type\":\"fixed\",\"name\":\"MD5\",\"size\":16}]},{\"name\":\"meta\",\"type\":[\"null\",{\"type\":\"map\",\"values\":\"bytes\"}]}]}");
  static final Schema META = Schema.createMap(Schema.create(Schema.Type.BYTES));
  static Protocol p;

  public static void main(String[] args) throws Exception {
    p = new Idl(new ByteArrayInputStream(IDL.getBytes(StandardCharsets.UTF_8))).CompilationUnit();
    String text = p.toString();
    System.out.println("protocol-json: " + text);
    System.out.println("protocol-md5: " + hex(p.getMD5()));
    Schema event = p.getType("org.apache.flume.source.avro.AvroFlumeEvent");
    GenericRecord e1 = ev(event, map("host", "web-1", "timestamp", "1700000000000"), "hello");
    GenericRecord e2 = ev(event, new LinkedHashMap<>(), "");
    GenericRecord e3 = ev(event, map("k", "v\u00e9"), "line three");
    // Flume's first request on a connection: handshake without the protocol text, then appendBatch.
    System.out.println("request-handshake-appendBatch: " + hex(frame(0, request(hreq(false), "appendBatch", Arrays.asList(e1, e2)))));
    // After a NONE reply the client resends with its protocol text.
    System.out.println("request-handshake-with-protocol-appendBatch: " + hex(frame(1, request(hreq(true), "appendBatch", Arrays.asList(e1, e2)))));
    System.out.println("request-append: " + hex(frame(2, request(null, "append", e3))));
    System.out.println("request-appendBatch-empty: " + hex(frame(3, request(null, "appendBatch", new ArrayList<GenericRecord>()))));
    System.out.println("request-ping: " + hex(frame(4, request(hreq(false), "", null))));
    // Responder's replies.
    System.out.println("response-both-ok: " + hex(frame(0, response(hres("BOTH"), 0))));
    System.out.println("response-none: " + hex(frame(0, responseHandshakeOnly(hres("NONE")))));
    System.out.println("response-client-ok: " + hex(frame(1, response(hres("CLIENT"), 0))));
    System.out.println("response-ok: " + hex(frame(2, response(null, 0))));
    System.out.println("response-failed: " + hex(frame(3, response(null, 1))));
    System.out.println("response-ping-both: " + hex(frame(4, responseHandshakeOnly(hres("BOTH")))));
    System.out.println("response-system-error: " + hex(frame(5, systemError(null, "org.apache.avro.AvroRuntimeException: No such remote message: nope"))));
  }

  static Map<String, String> map(String... kv) { Map<String, String> m = new LinkedHashMap<>(); for (int i = 0; i < kv.length; i += 2) m.put(kv[i], kv[i + 1]); return m; }
  static GenericRecord ev(Schema s, Map<String, String> h, String body) { GenericRecord r = new GenericData.Record(s); r.put("headers", h); r.put("body", ByteBuffer.wrap(body.getBytes(StandardCharsets.UTF_8))); return r; }
  static GenericRecord hreq(boolean withProtocol) {
    GenericRecord r = new GenericData.Record(HREQ);
    Schema md5 = HREQ.getField("clientHash").schema();
    r.put("clientHash", new GenericData.Fixed(md5, p.getMD5()));
    r.put("clientProtocol", withProtocol ? p.toString() : null);
    r.put("serverHash", new GenericData.Fixed(md5, p.getMD5()));
    r.put("meta", null);
    return r;
  }
  static GenericRecord hres(String match) {
    GenericRecord r = new GenericData.Record(HRES);
    r.put("match", new GenericData.EnumSymbol(HRES.getField("match").schema(), match));
    boolean both = match.equals("BOTH");
    r.put("serverProtocol", both ? null : p.toString());
    Schema md5 = HRES.getField("serverHash").schema().getTypes().get(1);
    r.put("serverHash", both ? null : new GenericData.Fixed(md5, p.getMD5()));
    r.put("meta", null);
    return r;
  }
  // Requestor.Request.getBytes: payload first into its own buffers, then handshake + meta + name, then payload appended.
  static List<ByteBuffer> request(GenericRecord handshake, String name, Object param) throws IOException {
    ByteBufferOutputStream bbo = new ByteBufferOutputStream();
    BinaryEncoder out = EncoderFactory.get().binaryEncoder(bbo, null);
    if (!name.isEmpty()) {
      Schema req = p.getMessages().get(name).getRequest();
      GenericRecord r = new GenericData.Record(req);
      r.put(req.getFields().get(0).name(), param);
      new GenericDatumWriter<Object>(req).write(r, out);
    }
    out.flush();
    List<ByteBuffer> payload = bbo.getBufferList();
    if (handshake != null) new GenericDatumWriter<Object>(HREQ).write(handshake, out);
    new GenericDatumWriter<Object>(META).write(new HashMap<String, ByteBuffer>(), out);
    out.writeString(name);
    out.flush();
    if (!name.isEmpty()) bbo.append(payload);
    return bbo.getBufferList();
  }
  // Responder.respond: handshake buffers, then meta, then error flag + response.
  static List<ByteBuffer> response(GenericRecord handshake, int status) throws IOException {
    ByteBufferOutputStream bbo = new ByteBufferOutputStream();
    BinaryEncoder out = EncoderFactory.get().binaryEncoder(bbo, null);
    if (handshake != null) new GenericDatumWriter<Object>(HRES).write(handshake, out);
    out.flush();
    List<ByteBuffer> hs = bbo.getBufferList();
    out.writeBoolean(false);
    Schema st = p.getType("org.apache.flume.source.avro.Status");
    new GenericDatumWriter<Object>(st).write(new GenericData.EnumSymbol(st, st.getEnumSymbols().get(status)), out);
    out.flush();
    List<ByteBuffer> payload = bbo.getBufferList();
    new GenericDatumWriter<Object>(META).write(new HashMap<String, ByteBuffer>(), out);
    out.flush();
    bbo.prepend(hs);
    bbo.append(payload);
    return bbo.getBufferList();
  }
  static List<ByteBuffer> responseHandshakeOnly(GenericRecord handshake) throws IOException {
    ByteBufferOutputStream bbo = new ByteBufferOutputStream();
    BinaryEncoder out = EncoderFactory.get().binaryEncoder(bbo, null);
    new GenericDatumWriter<Object>(HRES).write(handshake, out);
    out.flush();
    return bbo.getBufferList();
  }
  // Responder's system-error branch: a fresh stream with error flag true and the union ["string"] message.
  static List<ByteBuffer> systemError(GenericRecord handshake, String message) throws IOException {
    ByteBufferOutputStream bbo = new ByteBufferOutputStream();
    BinaryEncoder out = EncoderFactory.get().binaryEncoder(bbo, null);
    out.writeBoolean(true);
    new GenericDatumWriter<Object>(Protocol.SYSTEM_ERRORS).write(message, out);
    out.flush();
    List<ByteBuffer> payload = bbo.getBufferList();
    new GenericDatumWriter<Object>(META).write(new HashMap<String, ByteBuffer>(), out);
    out.flush();
    bbo.prepend(new ByteBufferOutputStream().getBufferList());
    bbo.append(payload);
    return bbo.getBufferList();
  }
  // NettyTransportCodec.NettyFrameEncoder: serial, buffer count, then length + bytes per buffer.
  static byte[] frame(int serial, List<ByteBuffer> buffers) {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    DataOutputStream d = new DataOutputStream(o);
    try {
      d.writeInt(serial); d.writeInt(buffers.size());
      for (ByteBuffer b : buffers) { d.writeInt(b.limit()); d.write(b.array(), b.arrayOffset(), b.limit()); }
    } catch (IOException e) { throw new UncheckedIOException(e); }
    return o.toByteArray();
  }
  static String hex(byte[] b) { StringBuilder s = new StringBuilder(); for (byte x : b) s.append(String.format("%02x", x)); return s.toString(); }
}
