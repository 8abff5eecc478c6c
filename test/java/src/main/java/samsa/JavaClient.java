package samsa;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.FeatureUpdate;
import org.apache.kafka.clients.admin.FinalizedVersionRange;
import org.apache.kafka.clients.admin.FeatureMetadata;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourcePatternFilter;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * One scenario of the Java client per run, for samsa's test suite. It prints one JSON object on
 * stdout with what the client saw; the test compares that with what other clients see.
 *
 * <pre>
 * admin    BOOTSTRAP TOPIC PARTITIONS          create the topic, describe the cluster, the topic and its end offsets
 * produce  BOOTSTRAP TOPIC COUNT               idempotent, acks=all: COUNT records "java-i" with keys "k(i%8)"
 * consume  BOOTSTRAP TOPIC GROUP COUNT PROTO   read COUNT records in a group (group.protocol PROTO), commit them
 * txn      BOOTSTRAP TOPIC TXID COUNT OUTCOME  COUNT records "OUTCOME-i" in one transaction, then commit or abort
 * telemetry BOOTSTRAP TOPIC CLIENTID HOLDMS    produce, push client metrics (KIP-714) for HOLDMS, print the instance id
 * acls     BOOTSTRAP PRINCIPAL TOPIC          create ACLs of PRINCIPAL on TOPIC, describe, delete those matching TOPIC,
 *                                              describe again, and the cluster's authorized operations
 * txns     BOOTSTRAP TOPIC TXID GROUP          three transactions (commit with offsets for GROUP, abort, commit), the
 *                                              producer epoch after each (DescribeTransactions, DescribeProducers), a
 *                                              zombie fenced by a new instance, what a read_committed consumer reads
 * features BOOTSTRAP FEATURE LEVEL            UpdateFeatures to LEVEL (a safe downgrade when lower), then DescribeFeatures
 * </pre>
 */
public final class JavaClient {
  private JavaClient() {}

  public static void main(String[] args) throws Exception {
    String json;
    switch (args[0]) {
      case "admin" -> json = admin(args[1], args[2], Integer.parseInt(args[3]));
      case "produce" -> json = produce(args[1], args[2], Integer.parseInt(args[3]));
      case "consume" -> json = consume(args[1], args[2], args[3], Integer.parseInt(args[4]), args[5]);
      case "txn" -> json = transaction(args[1], args[2], args[3], Integer.parseInt(args[4]), args[5]);
      case "telemetry" -> json = telemetry(args[1], args[2], args[3], Long.parseLong(args[4]));
      case "acls" -> json = acls(args[1], args[2], args[3]);
      case "txns" -> json = transactions(args[1], args[2], args[3], args[4]);
      case "features" -> json = features(args[1], args[2], Short.parseShort(args[3]));
      default -> throw new IllegalArgumentException("unknown scenario " + args[0]);
    }
    System.out.println(json);
  }

  private static Properties common(String bootstrap) {
    Properties props = new Properties();
    props.put("bootstrap.servers", bootstrap);
    props.put("client.id", "samsa-java-test");
    return props;
  }

  private static String admin(String bootstrap, String topic, int partitions) throws Exception {
    try (Admin admin = Admin.create(common(bootstrap))) {
      admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get();
      DescribeClusterResult cluster = admin.describeCluster();
      List<Integer> nodes = cluster.nodes().get().stream().map(Node::id).sorted().collect(Collectors.toList());
      TopicDescription described = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
      List<Integer> leaders = new ArrayList<>();
      Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
      for (TopicPartitionInfo p : described.partitions()) {
        leaders.add(p.leader().id());
        latest.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest());
      }
      ListOffsetsResult offsets = admin.listOffsets(latest);
      List<Long> ends = new ArrayList<>();
      for (int p = 0; p < described.partitions().size(); p++) {
        ends.add(offsets.partitionResult(new TopicPartition(topic, p)).get().offset());
      }
      return "{\"clusterId\":" + str(cluster.clusterId().get()) + ",\"nodes\":" + nodes + ",\"leaders\":" + leaders
          + ",\"ends\":" + ends + "}";
    }
  }

  private static KafkaProducer<String, String> producer(Properties props) {
    props.put("acks", "all");
    props.put("enable.idempotence", "true");
    props.put("linger.ms", "5");
    return new KafkaProducer<>(props, new StringSerializer(), new StringSerializer());
  }

  private static String produce(String bootstrap, String topic, int count) throws Exception {
    List<String> acked = new ArrayList<>();
    try (KafkaProducer<String, String> producer = producer(common(bootstrap))) {
      List<Future<RecordMetadata>> sent = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        sent.add(producer.send(new ProducerRecord<>(topic, "k" + (i % 8), "java-" + i)));
      }
      for (int i = 0; i < count; i++) {
        RecordMetadata m = sent.get(i).get();
        acked.add("[" + m.partition() + "," + m.offset() + "," + str("java-" + i) + "]");
      }
    }
    return "{\"acked\":[" + String.join(",", acked) + "]}";
  }

  /**
   * KIP-714: a producer that pushes its metrics (the default when the broker advertises the
   * telemetry APIs) for holdMs, then closes with its terminating push; prints the client
   * instance id the broker gave it, as a canonical UUID.
   */
  private static String telemetry(String bootstrap, String topic, String clientId, long holdMs) throws Exception {
    Properties props = common(bootstrap);
    props.put("client.id", clientId);
    try (KafkaProducer<String, String> producer = producer(props)) {
      for (int i = 0; i < 10; i++) producer.send(new ProducerRecord<>(topic, "k" + i, "telemetry-" + i)).get();
      org.apache.kafka.common.Uuid id = producer.clientInstanceId(Duration.ofSeconds(30));
      Thread.sleep(holdMs);
      java.util.UUID uuid = new java.util.UUID(id.getMostSignificantBits(), id.getLeastSignificantBits());
      return "{\"clientInstanceId\":" + str(uuid.toString()) + "}";
    }
  }

  private static String consume(String bootstrap, String topic, String group, int count, String protocol) {
    Properties props = common(bootstrap);
    props.put("group.id", group);
    props.put("group.protocol", protocol);
    props.put("auto.offset.reset", "earliest");
    props.put("enable.auto.commit", "false");
    props.put("isolation.level", "read_committed");
    List<String> seen = new ArrayList<>();
    long committed = 0;
    try (KafkaConsumer<String, String> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
      consumer.subscribe(List.of(topic));
      long deadline = System.currentTimeMillis() + 30_000;
      while (seen.size() < count && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
          seen.add("[" + r.partition() + "," + r.offset() + "," + str(r.value()) + "]");
        }
      }
      consumer.commitSync();
      Set<TopicPartition> assigned = consumer.assignment();
      for (Map.Entry<TopicPartition, OffsetAndMetadata> e : consumer.committed(assigned).entrySet()) {
        if (e.getValue() != null) committed += e.getValue().offset();
      }
    }
    return "{\"records\":[" + String.join(",", seen) + "],\"committed\":" + committed + "}";
  }

  private static String transaction(String bootstrap, String topic, String id, int count, String outcome) {
    Properties props = common(bootstrap);
    props.put("transactional.id", id);
    try (KafkaProducer<String, String> producer = producer(props)) {
      producer.initTransactions();
      producer.beginTransaction();
      for (int i = 0; i < count; i++) producer.send(new ProducerRecord<>(topic, "k" + (i % 8), outcome + "-" + i));
      if (!outcome.equals("abort")) {
        // The offsets of a consume-transform-produce loop, committed with the transaction.
        producer.sendOffsetsToTransaction(
            Map.of(new TopicPartition(topic, 0), new OffsetAndMetadata(count)), new ConsumerGroupMetadata(id + "-group"));
        producer.commitTransaction();
      } else producer.abortTransaction();
    }
    return "{\"ended\":" + str(outcome) + "}";
  }

  /**
   * The ACL APIs through the admin client: an ALLOW WRITE on the literal topic and a DENY READ on
   * the topic's name as a prefix, every ACL described, those that MATCH the topic deleted, every
   * ACL described again; each ACL as "TYPE:PATTERN:NAME:PRINCIPAL:HOST:OPERATION:PERMISSION".
   */
  private static String acls(String bootstrap, String principal, String topic) throws Exception {
    try (Admin admin = Admin.create(common(bootstrap))) {
      AclBinding write = new AclBinding(
          new ResourcePattern(ResourceType.TOPIC, topic, PatternType.LITERAL),
          new AccessControlEntry(principal, "*", AclOperation.WRITE, AclPermissionType.ALLOW));
      AclBinding read = new AclBinding(
          new ResourcePattern(ResourceType.TOPIC, topic, PatternType.PREFIXED),
          new AccessControlEntry(principal, "*", AclOperation.READ, AclPermissionType.DENY));
      AclBinding group = new AclBinding(
          new ResourcePattern(ResourceType.GROUP, topic + "-group", PatternType.LITERAL),
          new AccessControlEntry(principal, "*", AclOperation.READ, AclPermissionType.ALLOW));
      admin.createAcls(List.of(write, read, group)).all().get();
      List<String> created = describeAcls(admin);
      AclBindingFilter matching = new AclBindingFilter(
          new ResourcePatternFilter(ResourceType.TOPIC, topic, PatternType.MATCH), AccessControlEntryFilter.ANY);
      int deleted = admin.deleteAcls(List.of(matching)).all().get().size();
      List<String> left = describeAcls(admin);
      Set<AclOperation> ops = admin.describeCluster(new DescribeClusterOptions().includeAuthorizedOperations(true))
          .authorizedOperations().get();
      List<String> clusterOps = ops.stream().map(AclOperation::name).sorted().map(JavaClient::str).toList();
      return "{\"created\":" + created + ",\"deleted\":" + deleted + ",\"left\":" + left + ",\"clusterOperations\":"
          + clusterOps + "}";
    }
  }

  /**
   * Transactions as the client runs them with the cluster's finalized transaction.version (2:
   * partitions and the group join implicitly, every end bumps the epoch): commit 5 records and
   * offset 5 of partition 0 for GROUP, abort 3, commit 4; the epoch DescribeTransactions reports
   * after each, the epochs DescribeProducers reports on the topic's partitions at the end; a
   * second instance fences the first (which was left in a transaction); a read_committed consumer
   * reads every record.
   */
  private static String transactions(String bootstrap, String topic, String id, String group) throws Exception {
    Properties props = common(bootstrap);
    props.put("transactional.id", id);
    List<Short> epochs = new ArrayList<>();
    String fenced = "none";
    try (Admin admin = Admin.create(common(bootstrap));
        KafkaProducer<String, String> producer = producer(props)) {
      producer.initTransactions();
      epochs.add(txnEpoch(admin, id));
      String[][] txns = {{"commit-1", "5"}, {"abort-2", "3"}, {"commit-3", "4"}};
      for (String[] txn : txns) {
        producer.beginTransaction();
        int n = Integer.parseInt(txn[1]);
        for (int i = 0; i < n; i++) producer.send(new ProducerRecord<>(topic, "k" + i, txn[0] + "-" + i));
        if (txn[0].equals("commit-1")) {
          producer.sendOffsetsToTransaction(
              Map.of(new TopicPartition(topic, 0), new OffsetAndMetadata(n)), new ConsumerGroupMetadata(group));
        }
        if (txn[0].startsWith("commit")) producer.commitTransaction();
        else producer.abortTransaction();
        epochs.add(txnEpoch(admin, id));
      }
      List<TopicPartition> partitions = new ArrayList<>();
      for (int p = 0; p < admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().size(); p++) {
        partitions.add(new TopicPartition(topic, p));
      }
      List<Integer> partitionEpochs = new ArrayList<>();
      for (var e : admin.describeProducers(partitions).all().get().entrySet()) {
        for (ProducerState s : e.getValue().activeProducers()) partitionEpochs.add(s.producerEpoch());
      }
      // The zombie: this instance opens a transaction, a new one with the same id takes over.
      producer.beginTransaction();
      producer.send(new ProducerRecord<>(topic, "z", "zombie")).get();
      try (KafkaProducer<String, String> successor = producer(props)) {
        successor.initTransactions();
        try {
          producer.send(new ProducerRecord<>(topic, "z", "zombie-2")).get();
          producer.commitTransaction();
        } catch (Exception e) {
          Throwable cause = e.getCause() != null && !(e instanceof ProducerFencedException) ? e.getCause() : e;
          fenced = cause.getClass().getSimpleName();
        }
        successor.beginTransaction();
        successor.send(new ProducerRecord<>(topic, "k", "successor-0"));
        successor.commitTransaction();
      }
      long offset = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get()
          .get(new TopicPartition(topic, 0)).offset();
      List<String> read = readCommitted(bootstrap, partitions, 10);
      return "{\"epochs\":" + epochs + ",\"partitionEpochs\":" + partitionEpochs + ",\"fenced\":" + str(fenced)
          + ",\"groupOffset\":" + offset + ",\"read\":" + read.stream().sorted().map(JavaClient::str).toList() + "}";
    }
  }

  private static short txnEpoch(Admin admin, String id) throws Exception {
    return (short) admin.describeTransactions(List.of(id)).description(id).get().producerEpoch();
  }

  /** Every record a read_committed consumer reads from the partitions, until `count` came (or 30 s passed). */
  private static List<String> readCommitted(String bootstrap, List<TopicPartition> partitions, int count) {
    Properties props = common(bootstrap);
    props.put("isolation.level", "read_committed");
    props.put("auto.offset.reset", "earliest");
    List<String> values = new ArrayList<>();
    try (KafkaConsumer<String, String> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      long deadline = System.currentTimeMillis() + 30_000;
      while (values.size() < count && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) values.add(r.value());
      }
      // Anything beyond `count` would show in a last poll.
      for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) values.add(r.value());
    }
    return values;
  }

  /** UpdateFeatures through the admin client (a safe downgrade when the level is lower), then DescribeFeatures. */
  private static String features(String bootstrap, String feature, short level) throws Exception {
    try (Admin admin = Admin.create(common(bootstrap))) {
      FinalizedVersionRange before = admin.describeFeatures().featureMetadata().get().finalizedFeatures().get(feature);
      short current = before == null ? 0 : before.maxVersionLevel();
      FeatureUpdate.UpgradeType type =
          level < current ? FeatureUpdate.UpgradeType.SAFE_DOWNGRADE : FeatureUpdate.UpgradeType.UPGRADE;
      String error = "none";
      try {
        admin.updateFeatures(Map.of(feature, new FeatureUpdate(level, type)), new org.apache.kafka.clients.admin.UpdateFeaturesOptions())
            .all().get();
      } catch (Exception e) {
        error = e.getCause() == null ? e.getClass().getSimpleName() : e.getCause().getClass().getSimpleName();
      }
      FeatureMetadata meta = admin.describeFeatures().featureMetadata().get();
      FinalizedVersionRange after = meta.finalizedFeatures().get(feature);
      return "{\"error\":" + str(error) + ",\"level\":" + (after == null ? 0 : after.maxVersionLevel())
          + ",\"epoch\":" + meta.finalizedFeaturesEpoch().orElse(-1L) + ",\"supportedMax\":"
          + meta.supportedFeatures().get(feature).maxVersion() + "}";
    }
  }

  private static List<String> describeAcls(Admin admin) throws Exception {
    return admin.describeAcls(AclBindingFilter.ANY).values().get().stream()
        .map(b -> str(b.pattern().resourceType() + ":" + b.pattern().patternType() + ":" + b.pattern().name() + ":"
            + b.entry().principal() + ":" + b.entry().host() + ":" + b.entry().operation() + ":"
            + b.entry().permissionType()))
        .sorted()
        .toList();
  }

  private static String str(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }
}
