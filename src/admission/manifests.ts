/**
 * What `signet admission manifests` prints: the Namespace-scoped Deployment and Service that run
 * the webhook, and the Validating/MutatingWebhookConfiguration that send it pods and workloads.
 * failurePolicy is Fail (closed): when the webhook cannot answer, nothing unverified runs.
 */
import { stringify } from 'yaml';

export interface ManifestOptions {
  namespace: string;
  name: string;
  image: string;
  /** PEM of the CA that signed the webhook's serving certificate. */
  caBundlePem: string;
  timeoutSeconds: number;
}

const RULES = [
  { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods', 'pods/ephemeralcontainers', 'replicationcontrollers'] },
  { apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['deployments', 'replicasets', 'statefulsets', 'daemonsets'] },
  { apiGroups: ['batch'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['jobs', 'cronjobs'] },
];

export function admissionManifests(options: ManifestOptions): string {
  const labels = { 'app.kubernetes.io/name': options.name };
  const caBundle = Buffer.from(options.caBundlePem, 'utf8').toString('base64');
  const webhook = (path: string, suffix: string) => ({
    name: `${suffix}.${options.name}.signet.dev`,
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    failurePolicy: 'Fail',
    timeoutSeconds: options.timeoutSeconds,
    // The webhook's own namespace is left out so that signet can always be restarted.
    namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [options.namespace, 'kube-system'] }] },
    clientConfig: { service: { namespace: options.namespace, name: options.name, path, port: 443 }, caBundle },
    rules: RULES.map((rule) => ({ ...rule, scope: '*' })),
  });
  const documents = [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: options.name, namespace: options.namespace, labels },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                name: 'signet',
                image: options.image,
                args: ['admission', '--listen', '0.0.0.0:8443', '--tls-cert', '/tls/tls.crt', '--tls-key', '/tls/tls.key', '--policy', '/policy/policy.yml'],
                ports: [{ containerPort: 8443, name: 'https' }],
                readinessProbe: { httpGet: { path: '/readyz', port: 8443, scheme: 'HTTPS' } },
                livenessProbe: { httpGet: { path: '/healthz', port: 8443, scheme: 'HTTPS' } },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
                volumeMounts: [
                  { name: 'tls', mountPath: '/tls', readOnly: true },
                  { name: 'policy', mountPath: '/policy', readOnly: true },
                ],
              },
            ],
            volumes: [
              { name: 'tls', secret: { secretName: `${options.name}-tls` } },
              { name: 'policy', configMap: { name: `${options.name}-policy` } },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: options.name, namespace: options.namespace, labels },
      spec: { selector: labels, ports: [{ name: 'https', port: 443, targetPort: 8443 }] },
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: options.name, labels },
      webhooks: [webhook('/validate', 'validate')],
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: options.name, labels },
      webhooks: [{ ...webhook('/mutate', 'mutate'), reinvocationPolicy: 'IfNeeded' }],
    },
  ];
  return documents.map((document) => stringify(document, { lineWidth: 0 })).join('---\n');
}
