import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, OnApplicationBootstrap } from '@nestjs/common';
import type { Job } from 'bullmq';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { QueueName, type JobOf } from '@herald/queue';
import { FanoutUseCase, type FanoutResult } from './fanout.usecase';

@Processor(QueueName.Fanout)
export class FanoutProcessor extends WorkerHost implements OnApplicationBootstrap {
  constructor(
    private readonly fanout: FanoutUseCase,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.worker.concurrency = this.config.concurrency.fanout;
  }

  process(job: Job<JobOf<typeof QueueName.Fanout>>): Promise<FanoutResult> {
    return this.fanout.run(job.data);
  }
}
