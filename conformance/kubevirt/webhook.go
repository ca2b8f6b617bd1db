// The `webhook` mode: virt-api's validating admission, served to a real API server.
//
// What virt-api validates is wired here the way virt-api wires it (its registerValidatingWebhooks):
// the same admitters from KubeVirt's packages, the same paths (virt-operator's constants), the
// same informers and the same cluster configuration, which KubeVirt reads from the KubeVirt CR of
// the install namespace (one with a status phase) and follows as it changes; with no such CR, a
// default installation's. Admitters that look things up (instance types, restores, clones, data
// sources, namespaces) do so through a client built from --kubeconfig. A new VMI is checked as
// virt-api's mutating webhook would have left it (withNewVMIDefaults); nothing is mutated. Where the
// KubeVirt CR has no status.defaultArchitecture (virt-operator sets it; a CR of the local engine or
// of a test may not), a new VMI without an architecture gets this machine's, as with no CR.
//
// Not served: the pod eviction interceptors (they catch every pod eviction of the cluster and
// play no part without virt-launcher pods) and the KubeVirt CR's own validation (virt-operator's).
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sfield "k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"

	v1 "kubevirt.io/api/core/v1"
	"kubevirt.io/client-go/kubecli"

	"kubevirt.io/kubevirt/pkg/controller"
	netadmitter "kubevirt.io/kubevirt/pkg/network/admitter"
	webhookutils "kubevirt.io/kubevirt/pkg/util/webhooks"
	"kubevirt.io/kubevirt/pkg/virt-api/webhooks"
	"kubevirt.io/kubevirt/pkg/virt-api/webhooks/mutating-webhook/mutators"
	validating_webhook "kubevirt.io/kubevirt/pkg/virt-api/webhooks/validating-webhook"
	virtconfig "kubevirt.io/kubevirt/pkg/virt-config"
	"kubevirt.io/kubevirt/pkg/virt-operator/resource/generate/components"
)

// servedPaths are the paths of virt-api's validating webhooks that `webhook` answers.
var servedPaths = map[string]bool{
	components.VMICreateValidatePath:             true,
	components.VMIUpdateValidatePath:             true,
	components.VMValidatePath:                    true,
	components.VMIRSValidatePath:                 true,
	components.VMPoolValidatePath:                true,
	components.VMIPresetValidatePath:             true,
	components.MigrationCreateValidatePath:       true,
	components.MigrationUpdateValidatePath:       true,
	components.VMSnapshotValidatePath:            true,
	components.VMRestoreValidatePath:             true,
	components.VMExportValidatePath:              true,
	components.VMInstancetypeValidatePath:        true,
	components.VMClusterInstancetypeValidatePath: true,
	components.VMPreferenceValidatePath:          true,
	components.VMClusterPreferenceValidatePath:   true,
	components.StatusValidatePath:                true,
	components.MigrationPolicyCreateValidatePath: true,
	components.VMCloneCreateValidatePath:         true,
}

// servedWebhooks are the webhooks of the ValidatingWebhookConfiguration virt-operator installs
// for virt-api whose path `webhook` serves: their names, rules, failure policies, timeouts and side
// effects as KubeVirt sets them. Their client configuration still points at virt-api's Service;
// whoever registers them points it at this process.
func servedWebhooks() []admissionregistrationv1.ValidatingWebhook {
	all := components.NewVirtAPIValidatingWebhookConfiguration("kubevirt").Webhooks
	out := make([]admissionregistrationv1.ValidatingWebhook, 0, len(all))
	for _, w := range all {
		if svc := w.ClientConfig.Service; svc != nil && svc.Path != nil && servedPaths[*svc.Path] {
			out = append(out, w)
		}
	}
	return out
}

func printWebhookConfiguration(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]interface{}{"webhooks": servedWebhooks()})
}

type webhookFlags struct {
	cert, key, kubeconfig, namespace string
	port                             int
	kubevirtUsers                    []string
	exitWithStdin                    bool
}

type stringList []string

func (l *stringList) String() string     { return fmt.Sprint([]string(*l)) }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func parseWebhookFlags(args []string) (webhookFlags, error) {
	var f webhookFlags
	var users stringList
	fs := flag.NewFlagSet("webhook", flag.ContinueOnError)
	fs.StringVar(&f.cert, "cert", "", "PEM serving certificate")
	fs.StringVar(&f.key, "key", "", "PEM key of the serving certificate")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig of the API server the admitters read from")
	fs.StringVar(&f.namespace, "namespace", "kubevirt", "KubeVirt's install namespace (its KubeVirt CR, its service accounts)")
	fs.IntVar(&f.port, "port", 0, "port on 127.0.0.1 (0: any free one, printed)")
	fs.Var(&users, "kubevirt-user", "a user name the admitters treat as one of KubeVirt's own service accounts (repeatable)")
	fs.BoolVar(&f.exitWithStdin, "exit-with-stdin", false, "stop when standard input closes (its parent is gone)")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	f.kubevirtUsers = users
	if f.cert == "" || f.key == "" || f.kubeconfig == "" {
		return f, errors.New("webhook needs --cert, --key and --kubeconfig")
	}
	return f, nil
}

// webhookHandler wires virt-api's validating webhooks as virt-api does.
func webhookHandler(f webhookFlags, stop <-chan struct{}) (http.Handler, error) {
	config, err := clientcmd.BuildConfigFromFlags("", f.kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("a client from %s: %v", f.kubeconfig, err)
	}
	// virt-api's client is held to 5 requests a second by default (the KubeVirt CR can change it);
	// here, serving tests that write in bursts, a check that reads the API server would wait for it.
	config.QPS, config.Burst = 500, 1000
	virtCli, err := kubecli.GetKubevirtClientFromRESTConfig(config)
	if err != nil {
		return nil, err
	}
	factory := controller.NewKubeInformerFactory(virtCli.RestClient(), virtCli, nil, f.namespace)
	kubeVirtInformer := factory.KubeVirt()
	crdInformer := factory.CRD()
	vmiPresetInformer := factory.VirtualMachinePreset()
	vmRestoreInformer := factory.VirtualMachineRestore()
	namespaceInformer := factory.Namespace()
	factory.Start(stop)
	factory.WaitForCacheSync(stop)

	clusterConfig, err := virtconfig.NewClusterConfig(crdInformer, kubeVirtInformer, f.namespace)
	if err != nil {
		return nil, err
	}
	var dataSourceInformer cache.SharedIndexInformer
	if clusterConfig.HasDataSourceAPI() {
		dataSourceInformer = factory.DataSource()
	} else {
		dataSourceInformer = factory.DummyDataSource()
	}
	factory.Start(stop)
	factory.WaitForCacheSync(stop)
	informers := &webhooks.Informers{
		VMIPresetInformer:  vmiPresetInformer,
		VMRestoreInformer:  vmRestoreInformer,
		DataSourceInformer: dataSourceInformer,
		NamespaceInformer:  namespaceInformer,
	}

	accounts := webhooks.KubeVirtServiceAccounts(f.namespace)
	for _, u := range f.kubevirtUsers {
		accounts[u] = struct{}{}
	}
	networkSpec := func(field *k8sfield.Path, spec *v1.VirtualMachineInstanceSpec, c *virtconfig.ClusterConfig) []metav1.StatusCause {
		return netadmitter.Validate(field, spec, c)
	}

	mux := http.NewServeMux()
	handle := func(path string, h http.HandlerFunc) {
		if !servedPaths[path] {
			panic("unlisted webhook path " + path)
		}
		mux.HandleFunc(path, h)
	}
	handle(components.VMICreateValidatePath, func(w http.ResponseWriter, r *http.Request) {
		if refused := withNewVMIDefaults(r, clusterConfig); refused != nil {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(refused)
			return
		}
		validating_webhook.ServeVMICreate(w, r, clusterConfig, accounts, networkSpec)
	})
	handle(components.VMIUpdateValidatePath, func(w http.ResponseWriter, r *http.Request) {
		validating_webhook.ServeVMIUpdate(w, r, clusterConfig, accounts)
	})
	handle(components.VMValidatePath, func(w http.ResponseWriter, r *http.Request) {
		validating_webhook.ServeVMs(w, r, clusterConfig, virtCli, informers, accounts)
	})
	handle(components.VMIRSValidatePath, func(w http.ResponseWriter, r *http.Request) {
		validating_webhook.ServeVMIRS(w, r, clusterConfig)
	})
	handle(components.VMPoolValidatePath, func(w http.ResponseWriter, r *http.Request) {
		validating_webhook.ServeVMPool(w, r, clusterConfig, accounts)
	})
	handle(components.VMIPresetValidatePath, func(w http.ResponseWriter, r *http.Request) {
		validating_webhook.ServeVMIPreset(w, r)
	})
	handle(components.MigrationCreateValidatePath, func(w http.ResponseWriter, r *http.Request) {
		validating_webhook.ServeMigrationCreate(w, r, clusterConfig, virtCli, accounts)
	})
	handle(components.MigrationUpdateValidatePath, func(w http.ResponseWriter, r *http.Request) {
		validating_webhook.ServeMigrationUpdate(w, r)
	})
	handle(components.VMSnapshotValidatePath, func(w http.ResponseWriter, r *http.Request) {
		validating_webhook.ServeVMSnapshots(w, r, clusterConfig, virtCli)
	})
	handle(components.VMRestoreValidatePath, func(w http.ResponseWriter, r *http.Request) {
		validating_webhook.ServeVMRestores(w, r, clusterConfig, virtCli, informers)
	})
	handle(components.VMExportValidatePath, func(w http.ResponseWriter, r *http.Request) {
		validating_webhook.ServeVMExports(w, r, clusterConfig)
	})
	handle(components.VMInstancetypeValidatePath, func(w http.ResponseWriter, r *http.Request) {
		validating_webhook.ServeVmInstancetypes(w, r)
	})
	handle(components.VMClusterInstancetypeValidatePath, func(w http.ResponseWriter, r *http.Request) {
		validating_webhook.ServeVmClusterInstancetypes(w, r)
	})
	handle(components.VMPreferenceValidatePath, func(w http.ResponseWriter, r *http.Request) {
		validating_webhook.ServeVmPreferences(w, r)
	})
	handle(components.VMClusterPreferenceValidatePath, func(w http.ResponseWriter, r *http.Request) {
		validating_webhook.ServeVmClusterPreferences(w, r)
	})
	handle(components.StatusValidatePath, func(w http.ResponseWriter, r *http.Request) {
		validating_webhook.ServeStatusValidation(w, r, clusterConfig, virtCli, informers, accounts)
	})
	handle(components.MigrationPolicyCreateValidatePath, func(w http.ResponseWriter, r *http.Request) {
		validating_webhook.ServeMigrationPolicies(w, r)
	})
	handle(components.VMCloneCreateValidatePath, func(w http.ResponseWriter, r *http.Request) {
		validating_webhook.ServeVirtualMachineClones(w, r, clusterConfig, virtCli)
	})
	// For whoever starts this process: it answers once the informers above have synced.
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
	return mux, nil
}

// withNewVMIDefaults gives the VMI create admitter the VMI as virt-api's mutating webhook would
// have left it: on a cluster, that webhook runs first and sets the defaults the admitter presumes
// (the architecture above all). KubeVirt's own defaulting of a new VMI is applied to the object
// in the review, which only this process sees: nothing is mutated in the cluster, as virt-api's
// VM admitter applies defaults to a copy of the template it checks. The mutating webhook itself is
// not served: besides defaults it adds a finalizer only virt-controller removes and drops status
// writes from anyone but KubeVirt's service accounts.
func withNewVMIDefaults(r *http.Request, clusterConfig *virtconfig.ClusterConfig) *admissionv1.AdmissionReview {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	review := admissionv1.AdmissionReview{}
	if err != nil || json.Unmarshal(body, &review) != nil || review.Request == nil ||
		review.Request.Operation != admissionv1.Create {
		return nil // the admitter answers what is not a VMI create
	}
	vmi := &v1.VirtualMachineInstance{}
	if json.Unmarshal(review.Request.Object.Raw, vmi) != nil {
		return nil
	}
	// KubeVirt's default architecture is the KubeVirt CR's status.defaultArchitecture, which
	// virt-operator always sets; a CR written by hand or by the local engine may lack it, and then
	// the architecture KubeVirt assumes with no CR at all applies (this machine's).
	if vmi.Spec.Architecture == "" && clusterConfig.GetDefaultArchitecture() == "" {
		vmi.Spec.Architecture = runtime.GOARCH
	}
	if err := mutators.ApplyNewVMIMutations(vmi, clusterConfig); err != nil {
		// virt-api's mutating webhook refuses the VMI with this error.
		answer := admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Response: webhookutils.ToAdmissionResponseError(err)}
		answer.Response.UID = review.Request.UID
		return &answer
	}
	raw, err := json.Marshal(vmi)
	if err != nil {
		return nil
	}
	review.Request.Object.Raw = raw
	if body, err = json.Marshal(review); err == nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
	}
	return nil
}

func runWebhook(args []string) error {
	f, err := parseWebhookFlags(args)
	if err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(f.cert, f.key)
	if err != nil {
		return fmt.Errorf("the serving certificate: %v", err)
	}
	stop := make(chan struct{})
	defer close(stop)
	handler, err := webhookHandler(f, stop)
	if err != nil {
		return err
	}
	listener, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(f.port)))
	if err != nil {
		return err
	}
	server := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}
	served := make(chan error, 1)
	go func() { served <- server.ServeTLS(listener, "", "") }()
	// One line: the port, and the webhooks to register (those of webhook-configuration), so that
	// whoever starts this process needs no second one (KubeVirt's packages take seconds to load).
	ready, _ := json.Marshal(map[string]interface{}{
		"port":     listener.Addr().(*net.TCPAddr).Port,
		"webhooks": servedWebhooks(),
	})
	fmt.Println(string(ready))

	done := make(chan os.Signal, 1)
	signal.Notify(done, syscall.SIGTERM, syscall.SIGINT)
	if f.exitWithStdin {
		go func() {
			_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
			done <- syscall.SIGTERM
		}()
	}
	select {
	case err := <-served:
		return err
	case <-done:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := server.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
