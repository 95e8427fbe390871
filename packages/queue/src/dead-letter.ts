/** The headers a dead-lettered message carries besides its own. */
export const DEAD_LETTER_HEADERS = Object.freeze({
  stream: 'hf-dlq-stream',
  subject: 'hf-dlq-subject',
  seq: 'hf-dlq-seq',
  consumer: 'hf-dlq-consumer',
  deliveries: 'hf-dlq-deliveries',
  error: 'hf-dlq-error',
})
