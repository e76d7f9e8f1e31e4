// The parser ships no types: what the metrics test reads of its result.
declare module "parse-prometheus-text-format" {
  interface Sample {
    labels?: Record<string, string>;
    value?: string;
    count?: string;
    sum?: string;
    buckets?: Record<string, string>;
  }
  export default function parse(text: string): { name: string; type: string; metrics: Sample[] }[];
}
