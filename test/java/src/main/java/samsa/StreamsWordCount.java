package samsa;

import java.io.InputStream;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.Properties;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;

/**
 * A Kafka Streams word count (kafka-streams, KIP-1071 streams groups with group.protocol=streams)
 * as a real client of the tests. It counts the words of the lines of an input topic, keeping the
 * counts in a state store (a changelog topic) after a repartition by word, and writes each new
 * count to an output topic as a decimal string. It prints one JSON line per state change and
 * runs until its standard input closes (then closes cleanly) or the test kills the JVM.
 *
 * <pre>
 * bootstrap applicationId inputTopic outputTopic stateDir processingGuarantee
 * </pre>
 */
public final class StreamsWordCount {
  private StreamsWordCount() {}

  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, args[1]);
    props.put(StreamsConfig.STATE_DIR_CONFIG, args[4]);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, args[5]);
    props.put(StreamsConfig.GROUP_PROTOCOL_CONFIG, "streams");
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 200);
    props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
    props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    // A killed instance's open transaction blocks read_committed readers until it times out.
    props.put(StreamsConfig.producerPrefix(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG), 5000);

    StreamsBuilder builder = new StreamsBuilder();
    builder.<String, String>stream(args[2])
        .flatMapValues(line -> Arrays.asList(line.toLowerCase(Locale.ROOT).split("\\W+")))
        .filter((key, word) -> !word.isEmpty())
        .groupBy((key, word) -> word)
        .count(Materialized.as("counts"))
        .toStream()
        .mapValues(count -> Long.toString(count))
        .to(args[3], Produced.with(Serdes.String(), Serdes.String()));

    KafkaStreams streams = new KafkaStreams(builder.build(), props);
    streams.setStateListener((now, before) -> print("{\"event\":\"state\",\"state\":\"" + now + "\"}"));
    streams.setUncaughtExceptionHandler(err -> {
      print("{\"event\":\"error\",\"message\":" + quote(String.valueOf(err)) + "}");
      return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    });
    streams.start();
    InputStream in = System.in;
    while (in.read() != -1) {
      // Runs until the test closes standard input.
    }
    streams.close(Duration.ofSeconds(30));
    print("{\"event\":\"closed\"}");
  }

  private static synchronized void print(String json) {
    System.out.println(json);
    System.out.flush();
  }

  private static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
  }
}
