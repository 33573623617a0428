// Regenerates the golden bytes of AvroFlumeEventCodecTests with Java Avro (Debian libavro-java 1.8.2, the library family
// Flume writes AvroFlumeEvent with). Run:
//   CP=/usr/share/java/avro.jar:$(ls /usr/share/java/jackson-*-asl*.jar | tr "\n" :):/usr/share/java/slf4j-api.jar
//   javac -cp $CP Golden.java && java -cp .:$CP Golden

import org.apache.avro.Schema;
import org.apache.avro.generic.*;
import org.apache.avro.io.*;
import java.io.*;
import java.nio.ByteBuffer;
import java.util.*;

public class Golden {
  static final Schema S = new Schema.Parser().parse("{\"type\":\"record\",\"name\":\"AvroFlumeEvent\",\"namespace\":\"org.apache.flume.source.avro\",\"fields\":[{\"name\":\"headers\",\"type\":{\"type\":\"map\",\"values\":\"string\"}},{\"name\":\"body\",\"type\":\"bytes\"}]}");
  static void emit(String name, Map<CharSequence,CharSequence> h, byte[] body) throws Exception {
    GenericRecord r = new GenericData.Record(S);
    r.put("headers", h); r.put("body", ByteBuffer.wrap(body));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    BinaryEncoder enc = EncoderFactory.get().directBinaryEncoder(out, null);
    new GenericDatumWriter<GenericRecord>(S).write(r, enc); enc.flush();
    StringBuilder sb = new StringBuilder();
    for (byte b : out.toByteArray()) sb.append(String.format("%02x", b));
    System.out.println(name + " " + sb);
  }
  public static void main(String[] a) throws Exception {
    emit("empty", new HashMap<>(), new byte[0]);
    emit("body-only", new HashMap<>(), "hello".getBytes("UTF-8"));
    Map<CharSequence,CharSequence> one = new HashMap<>(); one.put("key", "k1");
    emit("one-header", one, "payload".getBytes("UTF-8"));
    Map<CharSequence,CharSequence> uni = new HashMap<>(); uni.put("host", "\u00fcn\u00ef");
    emit("unicode-binary", uni, new byte[]{0,1,2,(byte)255});
    Map<CharSequence,CharSequence> three = new HashMap<>(); three.put("topic", "t1"); three.put("timestamp", "1700000000000"); three.put("key", "abc");
    emit("three-headers", three, "body three".getBytes("UTF-8"));
    byte[] big = new byte[200]; for (int i=0;i<200;i++) big[i]=(byte)i;
    emit("long-body", new HashMap<>(), big);
  }
}
