import { InvalidArgument } from '@carshare/platform';

const wordPattern = /^(\*|#|[a-z][a-z0-9_]*)$/;

/**
 * Validates a subscription topic. The family (first word) must be literal because each family
 * travels on its own exchange: a pattern spanning families could not be bound anywhere.
 */
export function parseTopic(topic: string): { family: string; words: string[] } {
  const words = topic.split('.');
  const family = words[0] ?? '';
  if (!words.every((word) => wordPattern.test(word)) || family === '*' || family === '#') {
    throw InvalidArgument('INVALID_TOPIC', `topic "${topic}" must be <family>.<name> with * or # wildcards after a literal family`);
  }
  return { family, words };
}

/** Same semantics as a RabbitMQ topic binding, so both adapters route alike. */
export function topicMatcher(topics: readonly string[]): (type: string) => boolean {
  const exact = new Set<string>();
  const patterns: RegExp[] = [];
  for (const topic of topics) {
    const { words } = parseTopic(topic);
    if (!words.includes('*') && !words.includes('#')) exact.add(topic);
    else patterns.push(new RegExp(`^${topicRegexSource(topic)}$`));
  }
  return (type) => exact.has(type) || patterns.some((pattern) => pattern.test(type));
}

/** A POSIX/JS regular expression body for a topic pattern (also used in SQL `~` filters). */
export function topicRegexSource(topic: string): string {
  const words = topic.split('.');
  let source = '';
  words.forEach((word, index) => {
    const first = index === 0;
    if (word === '#') {
      // `#` may match zero words, so it takes the joining dot with it.
      source += first ? '([a-z0-9_]+(\\.[a-z0-9_]+)*)?' : '(\\.[a-z0-9_]+)*';
    } else {
      const body = word === '*' ? '[a-z0-9_]+' : word;
      source += first ? body : `\\.${body}`;
    }
  });
  return source;
}
