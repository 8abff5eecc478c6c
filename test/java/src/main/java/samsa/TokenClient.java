package samsa;

import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.CreateDelegationTokenOptions;
import org.apache.kafka.clients.admin.ExpireDelegationTokenOptions;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.security.auth.KafkaPrincipal;
import org.apache.kafka.common.security.token.delegation.DelegationToken;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Delegation tokens through Apache Kafka's Java clients, for the samsa tests: a SCRAM user's admin
 * client creates a token (bob may renew it), a producer authenticates with the token (SCRAM,
 * tokenauth) and writes a record, the admin describes, renews and expires the token, and a
 * producer with the expired token is refused. Prints what happened as one JSON line.
 *
 * Usage: TokenClient BOOTSTRAP USER PASSWORD TOPIC
 */
public final class TokenClient {
  private TokenClient() {}

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String topic = args[3];
    try (Admin admin = Admin.create(scram(bootstrap, args[1], args[2], false))) {
      DelegationToken token = admin
          .createDelegationToken(new CreateDelegationTokenOptions().renewers(List.of(new KafkaPrincipal("User", "bob"))))
          .delegationToken()
          .get();
      String tokenId = token.tokenInfo().tokenId();
      String hmac = token.hmacAsBase64String();
      boolean produced = produce(bootstrap, tokenId, hmac, topic, "via-token");
      List<String> described = admin.describeDelegationToken().delegationTokens().get().stream()
          .map(t -> t.tokenInfo().tokenId() + "/" + t.tokenInfo().owner() + "/" + t.tokenInfo().renewers())
          .collect(Collectors.toList());
      long renewed = admin.renewDelegationToken(token.hmac()).expiryTimestamp().get();
      admin.expireDelegationToken(token.hmac(), new ExpireDelegationTokenOptions().expiryTimePeriodMs(-1))
          .expiryTimestamp().get();
      boolean producedAfterExpiry = produce(bootstrap, tokenId, hmac, topic, "after-expiry");
      System.out.println("{\"tokenId\":\"" + tokenId + "\",\"owner\":\"" + token.tokenInfo().owner()
          + "\",\"maxTimestamp\":" + token.tokenInfo().maxTimestamp() + ",\"renewedExpiry\":" + renewed
          + ",\"described\":[" + described.stream().map(s -> "\"" + s + "\"").collect(Collectors.joining(","))
          + "],\"produced\":" + produced + ",\"producedAfterExpiry\":" + producedAfterExpiry + "}");
    }
  }

  private static Properties scram(String bootstrap, String user, String password, boolean token) {
    Properties props = new Properties();
    props.put("bootstrap.servers", bootstrap);
    props.put("client.id", "samsa-java-token-test");
    props.put("security.protocol", "SASL_PLAINTEXT");
    props.put("sasl.mechanism", "SCRAM-SHA-256");
    props.put("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
        + user + "\" password=\"" + password + "\"" + (token ? " tokenauth=\"true\"" : "") + ";");
    return props;
  }

  /** Whether a producer authenticated with the token gets a record acknowledged. */
  private static boolean produce(String bootstrap, String tokenId, String hmac, String topic, String value) {
    Properties props = scram(bootstrap, tokenId, hmac, true);
    props.put("max.block.ms", "10000");
    props.put("delivery.timeout.ms", "10000");
    props.put("request.timeout.ms", "5000");
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
      producer.send(new ProducerRecord<>(topic, value)).get(15, TimeUnit.SECONDS);
      return true;
    } catch (Exception e) {
      return false;
    }
  }
}
