package dev.kiln.core.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.core.registry.ModelConfig;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class BatchingConfigTest {
  private static BatchingConfig config(int instances) {
    return new BatchingConfig(
        true, 64, Duration.ofMillis(1), "", 1000, instances, Duration.ofSeconds(30));
  }

  @Test
  void instances_zero_meansOnePerCore() {
    assertThat(BatchingConfig.instances(0, 2)).isEqualTo(2);
    assertThat(BatchingConfig.instances(0, 1000)).isEqualTo(256);
  }

  @Test
  void instances_positive_isKept() {
    assertThat(BatchingConfig.instances(3, 2)).isEqualTo(3);
  }

  @Test
  void forModel_zeroInstances_resolvesToThisMachinesCores() {
    BatchPolicy p = config(0).forModel(null, 0).orElseThrow();
    assertThat(p.instances()).isEqualTo(Runtime.getRuntime().availableProcessors());
  }

  @Test
  void forModel_modelInstances_overrideTheServerDefault() {
    var model = new ModelConfig.DynamicBatching(null, null, null, null, 1);
    assertThat(config(0).forModel(model, 0).orElseThrow().instances()).isEqualTo(1);
  }

  @Test
  void new_negativeInstances_isRefusedNamingTheKey() {
    assertThatThrownBy(() -> config(-1)).hasMessageContaining("batching.instances");
  }
}
